import type { Worker } from 'node:cluster';
import type { QueryAnswer, WorkerQuery } from './messages.js';

/** A worker that takes longer than this to answer is left out (a hung or dying one must not hold the admin API). */
export const QUERY_TIMEOUT_MS = 2000;

interface Pending {
  resolve(answer: QueryAnswer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  worker: Worker;
}

/** The master's side of admin queries: each one sent to a worker over IPC, matched with its answer by id. */
export class WorkerQueries {
  #next = 1;
  readonly #pending = new Map<number, Pending>();

  ask(worker: Worker, query: WorkerQuery, timeoutMs = QUERY_TIMEOUT_MS): Promise<QueryAnswer> {
    const id = this.#next++;
    return new Promise<QueryAnswer>((resolve, reject) => {
      if (!worker.isConnected()) return reject(new Error(`worker ${worker.id} is not connected`));
      const timer = setTimeout(() => this.#settle(id)?.reject(new Error(`worker ${worker.id} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, worker });
      worker.send({ type: 'query', id, query }, (err: Error | null) => {
        if (err) this.#settle(id)?.reject(err);
      });
    });
  }

  /** Every worker's answer, in order; null for one that did not answer in time. */
  askAll(workers: readonly Worker[], query: WorkerQuery, timeoutMs = QUERY_TIMEOUT_MS): Promise<(QueryAnswer | null)[]> {
    return Promise.all(workers.map((w) => this.ask(w, query, timeoutMs).catch(() => null)));
  }

  answered(id: number, answer: QueryAnswer): void {
    this.#settle(id)?.resolve(answer);
  }

  /** A worker exited: its pending questions fail now rather than at their timeout. */
  gone(worker: Worker): void {
    for (const [id, pending] of this.#pending) {
      if (pending.worker === worker) this.#settle(id)?.reject(new Error(`worker ${worker.id} exited`));
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}
