// The master's side of active health checks: the prober, and where its marks
// go (Redis when the instance has one, else its workers over IPC).

import type { Worker } from 'node:cluster';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { LocalHealthMarks } from './local-marks.js';
import type { HealthMarks } from './marks.js';
import { HealthProber, type HealthStatus } from './prober.js';
import type { TargetsAnswer } from './targets.js';

export interface InstanceHealthDeps {
  /** Asks a serving worker for the targets (app/health/targets.ts); null when none answered. */
  targets(known: string | null): Promise<TargetsAnswer | null>;
  /** Every worker alive, of any generation: a draining one still serves. */
  workers(): Worker[];
  counted(result: 'pass' | 'fail'): void;
}

export class InstanceHealth {
  readonly #prober: HealthProber;

  private constructor(
    readonly redis: SwitchyardConfig['redis'],
    private readonly local: LocalHealthMarks | null,
    marks: HealthMarks,
    deps: InstanceHealthDeps,
  ) {
    this.#prober = new HealthProber({ targets: deps.targets, marks, counted: deps.counted });
  }

  /**
   * The prober of this instance. It runs whether or not a check is configured
   * now: the vhosts (file or Redis options) may ask for one at any time, and
   * with none its only work is a cheap question to a worker every second.
   */
  static async start(config: SwitchyardConfig, deps: InstanceHealthDeps): Promise<InstanceHealth> {
    let instance: InstanceHealth;
    // With Sentinel there is no fixed master to lock on or write to: each instance checks on its own and tells only its workers.
    if (config.redis !== null && config.redis.sentinel === undefined) {
      const { RedisHealthMarks } = await import('./redis-store.js');
      instance = new InstanceHealth(config.redis, null, new RedisHealthMarks(config.redis.write), deps);
    } else {
      const local = new LocalHealthMarks(deps.workers);
      instance = new InstanceHealth(config.redis, local, local, deps);
    }
    instance.#prober.start();
    return instance;
  }

  /** A worker that just listened learns the marks in force (without Redis; with it, Redis tells it). */
  greet(worker: Worker): void {
    this.local?.greet(worker);
  }

  unhealthy(): number {
    return this.#prober.unhealthy();
  }

  status(): HealthStatus {
    return this.#prober.status();
  }

  stop(): Promise<void> {
    return this.#prober.stop();
  }
}
