// Re-reads of the keys the change feed reports. A change announced while a
// read of its key is already on the wire needs a read of its own (the first
// may have been answered before the change): sent at once, pipelined, it
// costs one round trip instead of two. Only the newest read's answer applies.

/** Reads a key; resolves to what applies its answer, called only while that read is the key's newest. */
export type ReadKey = (redisKey: string) => Promise<() => void>;

/** The re-reads of one changed key. */
interface Refresh {
  /** Reads sent and not answered yet. */
  inflight: number;
  /** Sequence number of the newest read: only its answer is applied (older ones are superseded). */
  newest: number;
  /** The newest read is still corked (not on the wire): it will see any change announced now. */
  unsent: boolean;
  /** A change came with the maximum of reads in flight: one more read when one returns. */
  again: boolean;
  /** Settles once no read of the key is under way. */
  done: Promise<void>;
  settle: () => void;
}

/** Beyond this many reads of one key in flight, one more read follows the first answer. */
const MAX_READS_PER_KEY = 2;

export class KeyRereads {
  readonly #inflight = new Map<string, Refresh>();

  constructor(
    private readonly read: ReadKey,
    private readonly failed: (redisKey: string, err: Error) => void,
    /**
     * Called right after a read is issued; resolves once it is on the wire.
     * The connection writes what a tick wrote at the end of it (wire.ts), so
     * the default is the next tick.
     */
    private readonly sent: (then: () => void) => void = process.nextTick,
  ) {}

  /** Keys with a read under way. */
  get size(): number {
    return this.#inflight.size;
  }

  /** A key changed: re-read it now. A burst on one key costs at most MAX_READS_PER_KEY reads in flight. */
  changed(redisKey: string): void {
    let refresh = this.#inflight.get(redisKey);
    if (refresh === undefined) {
      let settle!: () => void;
      const done = new Promise<void>((resolve) => (settle = resolve));
      refresh = { inflight: 0, newest: 0, unsent: false, again: false, done, settle };
      this.#inflight.set(redisKey, refresh);
    }
    if (refresh.unsent) return; // the read about to leave sees this change too
    if (refresh.inflight >= MAX_READS_PER_KEY) {
      refresh.again = true;
      return;
    }
    this.#issue(redisKey, refresh);
  }

  /** Settles once the reads under way for `redisKeys` are done; undefined when there are none. */
  pending(redisKeys: Iterable<string>): Promise<void> | undefined {
    if (this.#inflight.size === 0) return undefined;
    const waits: Promise<void>[] = [];
    for (const key of redisKeys) {
      const refresh = this.#inflight.get(key);
      if (refresh !== undefined) waits.push(refresh.done);
    }
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  #issue(redisKey: string, refresh: Refresh): void {
    const seq = ++refresh.newest;
    refresh.inflight++;
    refresh.unsent = true;
    this.sent(() => {
      if (refresh.newest === seq) refresh.unsent = false;
    });
    this.read(redisKey)
      .then(
        (apply) => {
          if (seq === refresh.newest) apply();
        },
        (err: Error) => this.failed(redisKey, err),
      )
      .finally(() => {
        refresh.inflight--;
        if (refresh.again) {
          refresh.again = false;
          return this.#issue(redisKey, refresh);
        }
        if (refresh.inflight === 0) {
          this.#inflight.delete(redisKey);
          refresh.settle();
        }
      });
  }
}
