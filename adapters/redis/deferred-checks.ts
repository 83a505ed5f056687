// The certificate checks a large snapshot deferred (SPEC §7, 100,000
// certificates), made in the background so that every certificate is known
// good or quarantined in the end (the status, the metrics) without holding a
// starting worker: slices of at most SLICE_MS, then a pause of PAUSE_MS, so
// that the checks take about two fifths of the worker's CPU at most (100,000
// RSA certificates: under 5 minutes) and a request waits at most one slice
// behind them. A handshake that selects an
// unchecked certificate does not wait for this: it has it checked at once.

const SLICE_MS = 10;
const PAUSE_MS = 15;

export class DeferredChecks {
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** The names to check, taken from `unchecked` when a round starts (one that was checked meanwhile is skipped by `check`). */
  #queue: string[] = [];
  #next = 0;

  constructor(
    /** The names held unchecked now. */
    private readonly unchecked: () => Iterable<string>,
    /** Checks one (and emits what it is); nothing when it is checked already. */
    private readonly check: (name: string) => void,
    /** Called once none is left unchecked. */
    private readonly done: () => void = () => {},
  ) {}

  /** Starts checking, unless it is already under way. */
  schedule(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#timer = setTimeout(() => this.#slice(), PAUSE_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #slice(): void {
    this.#timer = null;
    if (this.#stopped) return;
    if (this.#next >= this.#queue.length) {
      // A new round: what a later snapshot deferred too.
      this.#queue = [...this.unchecked()];
      this.#next = 0;
      if (this.#queue.length === 0) return this.done();
    }
    const until = performance.now() + SLICE_MS;
    while (this.#next < this.#queue.length) {
      this.check(this.#queue[this.#next++]!);
      if (performance.now() >= until) break;
    }
    this.schedule();
  }
}
