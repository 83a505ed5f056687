import type { Worker } from 'node:cluster';
import type { SwitchyardConfig } from '../../src/config/types.js';

/**
 * The workers forked with one config: the serving generation, or the new one
 * a reload starts. A replacement joins the generation of the worker it
 * replaces, so it runs that generation's config.
 */
export class Generation {
  readonly workers = new Set<Worker>();
  readonly #listening = new Set<Worker>();

  constructor(
    readonly id: number,
    readonly config: SwitchyardConfig,
  ) {}

  listened(worker: Worker): void {
    if (this.workers.has(worker)) this.#listening.add(worker);
  }

  remove(worker: Worker): void {
    this.workers.delete(worker);
    this.#listening.delete(worker);
  }

  /** Its workers that have not reported listening yet (counting the ones never forked). */
  get silent(): number {
    return this.config.server.workers - this.#listening.size;
  }

  listeningWorkers(): Worker[] {
    return [...this.#listening];
  }
}
