// Without Redis: the master is the instance's one prober, and its marks go
// to every worker over IPC (a worker that starts later is told the marks in
// force when it listens), so all of them route around the dead backend.

import type { Worker } from 'node:cluster';
import type { DeadMark } from '../../src/vocabulary/events.js';
import type { MasterMessage } from '../workers/messages.js';
import type { Claim, HealthMarks } from './marks.js';
import type { HealthTarget } from './targets.js';

export class LocalHealthMarks implements HealthMarks {
  /** The marks in force, by target id. */
  readonly #held = new Map<string, DeadMark[]>();
  readonly #claimed = new Set<string>();

  constructor(private readonly workers: () => Worker[]) {}

  claim(id: string): Promise<Claim> {
    if (this.#claimed.has(id)) return Promise.resolve('kept');
    this.#claimed.add(id);
    return Promise.resolve('taken');
  }

  marked(target: HealthTarget): Promise<boolean> {
    const marks = this.#held.get(target.id);
    return Promise.resolve(marks !== undefined && marks.some((m) => m.until > Date.now()));
  }

  mark(target: HealthTarget, ttlMs: number): Promise<void> {
    const now = Date.now();
    // Told again only once half its time is gone (or its frontends changed): not an IPC message per worker at every check.
    if (sameFor(this.#held.get(target.id), target, now + ttlMs / 2)) return Promise.resolve();
    const until = now + ttlMs;
    const dead = target.marks.map((place) => ({ host: place.name, index: place.index, until }));
    this.#held.set(target.id, dead);
    this.#tell({ type: 'health-marks', dead, alive: [] });
    return Promise.resolve();
  }

  revive(target: HealthTarget): Promise<void> {
    this.#held.delete(target.id);
    this.#tell({ type: 'health-marks', dead: [], alive: target.marks.map((place) => ({ host: place.name, index: place.index })) });
    return Promise.resolve();
  }

  /** A worker that just listened learns the marks in force. */
  greet(worker: Worker): void {
    const now = Date.now();
    const dead = [...this.#held.values()].flat().filter((m) => m.until > now);
    if (dead.length > 0 && worker.isConnected()) worker.send({ type: 'health-marks', dead, alive: [] } satisfies MasterMessage);
  }

  #tell(message: MasterMessage): void {
    for (const worker of this.workers()) if (worker.isConnected()) worker.send(message);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** True when `held` marks exactly the target's places, each until after `after`. */
function sameFor(held: DeadMark[] | undefined, target: HealthTarget, after: number): boolean {
  if (held === undefined || held.length !== target.marks.length) return false;
  return held.every((mark, i) => mark.host === target.marks[i]!.name && mark.index === target.marks[i]!.index && mark.until > after);
}
