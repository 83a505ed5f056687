// Full resynchronisation: after every (re)connect the change feed is (re)armed
// and every key read again, and that snapshot replaces all the source said
// before (notifications are fire and forget: the snapshot is the truth).
// Resyncs are numbered: a newer one supersedes, and stops, an older one still
// reading; a failed one is retried.

import type { Snapshot } from './snapshot.js';

/** A snapshot being read: it can be stopped (its `done` then rejects). */
export interface SnapshotReading {
  readonly done: Promise<Snapshot>;
  abort(): void;
}

export interface ResyncSteps {
  /** The data connection is up: a resync can start. */
  ready(): boolean;
  /** Changes are being followed (called before the read, so none made during it is missed). */
  follow(): Promise<unknown>;
  read(): SnapshotReading;
  /** The newest resync's snapshot, and the keys announced as changed while it was read (they need a re-read). */
  apply(snapshot: Snapshot, changedMeanwhile: readonly string[]): void;
  failed(err: Error): void;
}

const COALESCE_MS = 10;
const RETRY_MS = 1000;

export class Resync {
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #reading: SnapshotReading | null = null;
  /** Set while a resync is under way: the keys changed meanwhile. */
  #changed: Set<string> | null = null;
  #stopped = false;

  constructor(private readonly steps: ResyncSteps) {}

  /** Coalesces the reconnect signals of every connection into one resync. */
  schedule(delayMs = COALESCE_MS): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#run(), delayMs);
  }

  /** A key changed: if a resync is reading, its snapshot may predate the change. */
  noteChange(redisKey: string): void {
    this.#changed?.add(redisKey);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#reading?.abort();
  }

  async #run(): Promise<void> {
    if (this.#stopped || !this.steps.ready()) return;
    const generation = ++this.#generation;
    const changed = new Set<string>();
    this.#changed = changed;
    try {
      await this.steps.follow();
      const snapshot = await this.#read();
      if (generation !== this.#generation) return; // a newer resync superseded this one
      this.#changed = null;
      this.steps.apply(snapshot, [...changed]);
    } catch (err) {
      if (generation !== this.#generation || this.#stopped) return;
      this.#changed = null;
      this.steps.failed(err as Error);
      this.schedule(RETRY_MS);
    }
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
