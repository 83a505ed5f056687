// The active health checks of one instance (SPEC §9), run by the master: it
// asks a worker's table which backends to check (targets.ts), checks each
// distinct backend every interval at a random phase (never on a request's
// path), and writes the verdicts as dead marks (marks.ts).

import { logger } from '../../src/log.js';
import type { HealthMarks } from './marks.js';
import { probe as probeBackend, type ProbeRequest, type ProbeResult } from './probe.js';
import { markTtlMs, type CheckSettings } from './settings.js';
import { CheckState } from './state.js';
import type { HealthTarget, TargetsAnswer } from './targets.js';

const log = logger('health');
/** How often the worker is asked whether the frontends changed (a cheap answer when they did not). */
const TARGETS_EVERY_MS = 1000;
/** Backends listed in the status, unhealthy ones first. */
const LISTED = 1000;

export interface ProberDeps {
  /** The targets of a serving worker's table; `known`: the version this prober has (answered `unchanged` when still current). Null: no answer. */
  targets(known: string | null): Promise<TargetsAnswer | null>;
  marks: HealthMarks;
  counted(result: 'pass' | 'fail'): void;
  probe?: (request: ProbeRequest) => Promise<ProbeResult>;
}

interface Watched {
  target: HealthTarget;
  state: CheckState;
  timer: NodeJS.Timeout | null;
  /** This process checked it at its last turn (another instance may hold it). */
  mine: boolean;
  last: (ProbeResult & { at: number }) | null;
}

/** The lock outlives a turn or two: its holder keeps it while it lives, another takes over when it dies. */
function lockTtlMs(settings: CheckSettings): number {
  return Math.round(2.5 * settings.intervalMs) + settings.timeoutMs;
}

/** ±10 % around the interval: checks of many backends stay spread out. */
function jittered(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

export class HealthProber {
  readonly #watched = new Map<string, Watched>();
  #version: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #probe: (request: ProbeRequest) => Promise<ProbeResult>;

  constructor(private readonly deps: ProberDeps) {
    this.#probe = deps.probe ?? probeBackend;
  }

  start(): void {
    void this.#follow();
  }

  async #follow(): Promise<void> {
    if (this.#stopped) return;
    const started = performance.now();
    const answer = await this.deps.targets(this.#version).catch(() => null);
    // A worker with a large table that changes all the time computes its targets at each change: never more than 5 % of its time.
    const next = Math.max(TARGETS_EVERY_MS, 20 * (performance.now() - started));
    if (answer !== null && !('unchanged' in answer) && !this.#stopped) {
      this.#version = answer.version;
      this.#followTargets(answer.targets);
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#follow(), next);
  }

  /** The new list: new backends start at a random point of their interval; gone ones stop (their marks expire). */
  #followTargets(targets: HealthTarget[]): void {
    const ids = new Set<string>();
    for (const target of targets) {
      ids.add(target.id);
      const watched = this.#watched.get(target.id);
      if (watched !== undefined) {
        watched.target = target;
        continue;
      }
      // Its state is decided when this process first claims it (#turn).
      const fresh: Watched = { target, state: new CheckState(target.settings), timer: null, mine: false, last: null };
      this.#watched.set(target.id, fresh);
      this.#schedule(fresh, Math.random() * target.settings.intervalMs);
    }
    for (const [id, watched] of this.#watched) {
      if (ids.has(id)) continue;
      if (watched.timer !== null) clearTimeout(watched.timer);
      this.#watched.delete(id);
    }
  }

  #schedule(watched: Watched, delayMs: number): void {
    watched.timer = setTimeout(() => void this.#turn(watched), delayMs);
  }

  async #turn(watched: Watched): Promise<void> {
    const { target } = watched;
    try {
      const claim = await this.deps.marks.claim(target.id, lockTtlMs(target.settings));
      if (claim === 'taken') {
        // Another prober may have judged it before (one that crashed, or left with its instance): its mark is where this one starts.
        const marked = target.marks.length > 0 && (await this.deps.marks.marked(target));
        watched.state = new CheckState(target.settings, marked ? 'unhealthy' : 'healthy');
      }
      watched.mine = claim !== null;
      if (claim !== null && this.#watched.get(target.id) === watched) await this.#check(watched);
    } catch (err) {
      this.#warn((err as Error).message, target.url);
    }
    if (!this.#stopped && this.#watched.get(target.id) === watched) this.#schedule(watched, jittered(target.settings.intervalMs));
  }

  async #check(watched: Watched): Promise<void> {
    const { target } = watched;
    const { settings } = target;
    const result = await this.#probe({ url: target.url, host: target.host, path: settings.path, timeoutMs: settings.timeoutMs });
    if (this.#stopped) return;
    watched.last = { ...result, at: Date.now() };
    this.deps.counted(result.passed ? 'pass' : 'fail');
    watched.state.retune(settings);
    const transition = watched.state.record(result.passed);
    if (transition === 'marked') log.warn('backend failed its health checks: marked dead', { backend: target.url, host: target.host, status: result.status, error: result.error, frontends: target.marks.length });
    if (transition === 'revived') log.info('backend passed its health checks: revived', { backend: target.url, host: target.host, frontends: target.marks.length });
    if (target.marks.length === 0) return;
    // Every failing check while unhealthy writes the mark again: it lasts as long as the failures do.
    if (watched.state.verdict === 'unhealthy') await this.deps.marks.mark(target, markTtlMs(settings));
    else if (transition === 'revived') await this.deps.marks.revive(target);
  }

  #warned = { message: '', at: 0 };

  /** A store that does not answer fails every turn of every backend: said once, then again every 10 s at most. */
  #warn(message: string, backend: string): void {
    const now = Date.now();
    if (message === this.#warned.message && now - this.#warned.at < 10_000) return;
    this.#warned = { message, at: now };
    log.warn('health checks cannot claim or mark (they go on at the next turn)', { backend, error: message });
  }

  /** Backends this instance checks and finds unhealthy now (switchyard_unhealthy_backends). */
  unhealthy(): number {
    let n = 0;
    for (const watched of this.#watched.values()) if (watched.mine && watched.state.verdict === 'unhealthy') n++;
    return n;
  }

  status() {
    const all = [...this.#watched.values()];
    const listed = all
      .sort((a, b) => (a.state.verdict === b.state.verdict ? (a.target.url < b.target.url ? -1 : 1) : a.state.verdict === 'unhealthy' ? -1 : 1))
      .slice(0, LISTED)
      .map(({ target, state, mine, last }) => ({
        backend: target.url,
        host: target.host,
        path: target.settings.path,
        interval: target.settings.intervalMs / 1000,
        frontends: target.marks.length,
        checkedHere: mine,
        verdict: mine ? state.verdict : null,
        run: mine ? state.run : 0,
        last: last === null ? null : { at: new Date(last.at).toISOString(), passed: last.passed, status: last.status, error: last.error, ms: last.ms },
      }));
    return { backends: all.length, unhealthy: this.unhealthy(), listed };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const watched of this.#watched.values()) if (watched.timer !== null) clearTimeout(watched.timer);
    this.#watched.clear();
    await this.deps.marks.close();
  }
}

export type HealthStatus = ReturnType<HealthProber['status']>;
