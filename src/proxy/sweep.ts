// Stalls are looked for by one timer per period for the whole worker, not a
// timer per request: arming and clearing a timer for every request costs more
// than the request's share of a sweep (measured: bench post1k, see
// docs/bench/2026-12-07-hardening.md).

/** Something that may stall, looked at every sweep while it is watched. */
export interface Watched {
  look(now: number): void;
}

export class Sweep {
  readonly #watched = new Set<Watched>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly periodMs: number) {}

  add(watched: Watched): void {
    this.#watched.add(watched);
    this.#timer ??= setInterval(this.#tick, this.periodMs).unref();
  }

  delete(watched: Watched): void {
    this.#watched.delete(watched);
  }

  readonly #tick = (): void => {
    if (this.#watched.size === 0) {
      clearInterval(this.#timer!);
      this.#timer = null;
      return;
    }
    const now = performance.now();
    for (const watched of this.#watched) watched.look(now);
  };
}

const sweeps = new Map<number, Sweep>();

/**
 * The sweep that looks four times per `limitMs`: a stall is then seen
 * between 1 and 1.25 `limitMs` after the last progress.
 */
export function sweepFor(limitMs: number): Sweep {
  let sweep = sweeps.get(limitMs);
  if (sweep === undefined) sweeps.set(limitMs, (sweep = new Sweep(Math.max(10, limitMs / 4))));
  return sweep;
}
