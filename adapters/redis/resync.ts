// Full resynchronisation: after every (re)connect the change feed is (re)armed
// and every key read again, and that snapshot replaces all the source said
// before (notifications are fire and forget: the snapshot is the truth).
// Resyncs are numbered: a newer one supersedes, and stops, an older one still
// reading; a failed one is retried. A database replaced as a whole (tripwire.ts)
// asks for a resync numbered above the one that was following it.

import type { Snapshot } from './snapshot.js';

/** A snapshot being read: it can be stopped (its `done` then rejects). */
export interface SnapshotReading {
  readonly done: Promise<Snapshot>;
  abort(): void;
}

export interface ResyncSteps {
  /** The data connection is up: a resync can start. */
  ready(): boolean;
  /** Changes are being followed (called before the read, so none made during it is missed), by resync `generation`. */
  follow(generation: number): Promise<unknown>;
  read(): SnapshotReading;
  /** The newest resync's snapshot, and the keys announced as changed while it was read (they need a re-read). */
  apply(snapshot: Snapshot, changedMeanwhile: readonly string[]): void;
  failed(err: Error): void;
}

const COALESCE_MS = 10;
const RETRY_MS = 1000;

/** Waits for a resync numbered above `after` to apply. */
interface Waiter {
  after: number;
  done: () => void;
}

export class Resync {
  #generation = 0;
  /** The number of the newest resync applied. */
  #applied = 0;
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #reading: SnapshotReading | null = null;
  /** Set while a resync is under way: the keys changed meanwhile. */
  #changed: Set<string> | null = null;
  #stopped = false;

  constructor(private readonly steps: ResyncSteps) {}

  /** The number of the newest resync started. */
  get generation(): number {
    return this.#generation;
  }

  /** Coalesces the reconnect signals of every connection into one resync. */
  schedule(delayMs = COALESCE_MS): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, delayMs);
  }

  /**
   * Resolves once a resync numbered above `generation` has applied, starting
   * one unless one is under way or due: what was read by `generation` and
   * before is stale. Many callers for one cause share one resync.
   */
  after(generation: number): Promise<void> {
    if (this.#applied > generation || this.#stopped) return Promise.resolve();
    if (this.#generation <= generation && this.#timer === undefined) this.schedule(0);
    return new Promise((done) => this.#waiters.push({ after: generation, done }));
  }

  /** A key changed: if a resync is reading, its snapshot may predate the change. */
  noteChange(redisKey: string): void {
    this.#changed?.add(redisKey);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#reading?.abort();
    this.#release(Infinity);
  }

  async #run(): Promise<void> {
    if (this.#stopped || !this.steps.ready()) return;
    const generation = ++this.#generation;
    const changed = new Set<string>();
    this.#changed = changed;
    try {
      await this.steps.follow(generation);
      const snapshot = await this.#read();
      if (generation !== this.#generation) return; // a newer resync superseded this one
      this.#changed = null;
      this.steps.apply(snapshot, [...changed]);
      this.#applied = generation;
      this.#release(generation);
    } catch (err) {
      if (generation !== this.#generation || this.#stopped) return;
      this.#changed = null;
      this.steps.failed(err as Error);
      this.schedule(RETRY_MS);
    }
  }

  /** Resolves the waiters that `generation` satisfies. */
  #release(generation: number): void {
    if (this.#waiters.length === 0) return;
    const waiting = this.#waiters;
    this.#waiters = waiting.filter((w) => w.after >= generation);
    for (const w of waiting) if (w.after < generation) w.done();
  }

  /** One read at a time: a newer resync stops the read of the one it supersedes. */
  async #read(): Promise<Snapshot> {
    this.#reading?.abort();
    const reading = this.steps.read();
    this.#reading = reading;
    try {
      return await reading.done;
    } finally {
      if (this.#reading === reading) this.#reading = null;
    }
  }
}
