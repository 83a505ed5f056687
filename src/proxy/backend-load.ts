import type { BackendTarget } from '../frontends/backend.js';

/** A backend's count, a mutable cell so that counting allocates nothing. */
interface Cell {
  n: number;
}

/**
 * Requests in flight per backend, in this worker (SPEC §9 "least-requests"):
 * one more when an attempt is dispatched (queued for a pool connection
 * included), one less when it ends, however it ends. Keyed by the parsed
 * backend (frontends/backend.ts caches one per URL), weakly: a backend no
 * longer listed anywhere, once its parse is dropped, takes its cell with it.
 * A backend listed twice is one backend with one count.
 */
export class BackendLoad {
  readonly #cells = new WeakMap<BackendTarget, Cell>();

  inFlight(target: BackendTarget): number {
    return this.#cells.get(target)?.n ?? 0;
  }

  started(target: BackendTarget): void {
    const cell = this.#cells.get(target);
    if (cell === undefined) this.#cells.set(target, { n: 1 });
    else cell.n++;
  }

  ended(target: BackendTarget): void {
    const cell = this.#cells.get(target);
    if (cell !== undefined && cell.n > 0) cell.n--;
  }
}
