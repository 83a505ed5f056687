import type { BackendTarget } from '../frontends/backend.js';
import type { ClientStallLimit } from './limits.js';
import { BackendPool } from './upstream/pool.js';

/** One keep-alive connection pool per backend origin, created on first use. */
export class BackendPools {
  readonly #pools = new Map<string, BackendPool>();

  constructor(private readonly options: { maxSockets: number; tcpTimeoutMs: number; clientStall: ClientStallLimit }) {}

  get(target: BackendTarget): BackendPool {
    let pool = this.#pools.get(target.origin);
    if (pool === undefined) {
      const { maxSockets, tcpTimeoutMs, clientStall } = this.options;
      pool = new BackendPool(target, { maxSockets, timeoutMs: tcpTimeoutMs, clientStall });
      this.#pools.set(target.origin, pool);
    }
    return pool;
  }

  /**
   * Called once the listeners drained, so nothing is in flight for a client
   * any more: idle connections close at once, busy ones get a short grace.
   */
  async close(graceMs = 1000): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close(graceMs)));
    this.#pools.clear();
  }
}
