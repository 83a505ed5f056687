// Frontend, certificate (`tls:`) and options (`options:`) keys with a TTL. Redis deletes an expired key, and announces it,
// only when its active expiry happens to sample it (in a database with 20,000
// other keys with a TTL, 55 s after the deadline in one measurement) or when a
// client reads it. Hipache read the key on every request, so its route ended
// at the deadline (and a certificate must end there too); here the source re-reads each such key at its deadline (the
// read expires it in Redis), and a request arriving after a deadline first
// starts the re-reads that are due, then waits for them like for any re-read.

/** Time as the deadlines read it; tests give their own. */
export interface ExpiryClock {
  now(): number;
  /** Calls `fire` once after `ms`; returns what cancels it. */
  after(fire: () => void, ms: number): () => void;
}

const realClock: ExpiryClock = {
  now: Date.now,
  after: (fire, ms) => {
    const timer = setTimeout(fire, Math.min(ms, 2 ** 31 - 1)).unref();
    return () => clearTimeout(timer);
  },
};

/** A deadline in the heap; stale once the key's deadline changed (skipped when popped). */
interface Entry {
  until: number;
  key: string;
}

export class FrontendExpiries {
  /** The current deadline of each key that has one. */
  readonly #until = new Map<string, number>();
  /** Min-heap on `until`, with stale entries left in until popped. */
  #heap: Entry[] = [];
  #cancel: (() => void) | null = null;
  #timerAt = Infinity;

  constructor(
    /** A key's deadline passed: re-read it. */
    private readonly due: (redisKey: string) => void,
    private readonly clock: ExpiryClock = realClock,
  ) {}

  /** `redisKey` was read: it expires at `until` (ms since the epoch, never later than Redis' deadline), or never (null). */
  set(redisKey: string, until: number | null): void {
    if (until === null) {
      this.#until.delete(redisKey);
      return;
    }
    if (this.#until.get(redisKey) === until) return;
    this.#until.set(redisKey, until);
    this.#push({ until, key: redisKey });
    if (this.#heap.length > 2 * this.#until.size + 1024) this.#compact();
    this.#arm();
  }

  /** A snapshot read every key: these are all the deadlines there are. */
  replaceAll(deadlines: Iterable<readonly [string, number]>): void {
    this.#until.clear();
    for (const [key, until] of deadlines) this.#until.set(key, until);
    this.#compact();
    this.#arm();
  }

  /** Re-reads the keys whose deadline has passed. Per request: a comparison or two while none has. */
  check(): void {
    const heap = this.#heap;
    if (heap.length === 0) return;
    const now = this.clock.now();
    while (heap.length > 0 && heap[0]!.until <= now) {
      const { key, until } = this.#pop();
      if (this.#until.get(key) !== until) continue; // superseded
      this.#until.delete(key); // the re-read sets it again if the key is still there
      this.due(key);
    }
    this.#arm();
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
  }

  /** One timer, for the earliest deadline. */
  #arm(): void {
    const next = this.#heap[0]?.until ?? Infinity;
    if (next === this.#timerAt) return;
    this.#cancel?.();
    this.#cancel = null;
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#cancel = this.clock.after(() => {
      this.#timerAt = Infinity;
      this.#cancel = null;
      this.check();
    }, Math.max(0, next - this.clock.now()));
  }

  #compact(): void {
    this.#heap = [];
    for (const [key, until] of this.#until) this.#push({ until, key });
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.until <= entry.until) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): Entry {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const child = left + 1 < heap.length && heap[left + 1]!.until < heap[left]!.until ? left + 1 : left;
      if (heap[child]!.until >= last.until) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
