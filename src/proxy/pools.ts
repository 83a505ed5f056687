import { Pool } from 'undici';
import type { BackendTarget } from '../routing/backend.js';

/** One keep-alive connection pool per backend origin, created on first use. */
export class BackendPools {
  readonly #pools = new Map<string, Pool>();

  constructor(private readonly options: { maxSockets: number; tcpTimeoutMs: number }) {}

  get(target: BackendTarget): Pool {
    let pool = this.#pools.get(target.origin);
    if (pool === undefined) {
      pool = new Pool(target.origin, {
        connections: this.options.maxSockets,
        pipelining: 1,
        connect: { timeout: this.options.tcpTimeoutMs },
        headersTimeout: this.options.tcpTimeoutMs,
        bodyTimeout: this.options.tcpTimeoutMs,
        strictContentLength: true,
      });
      this.#pools.set(target.origin, pool);
    }
    return pool;
  }

  /**
   * Called once the listeners drained, so nothing is in flight for a client
   * any more: idle keep-alive connections get a short grace, then go. (A
   * pool's close() can wait on a request whose client already left.)
   */
  async close(graceMs = 1000): Promise<void> {
    await Promise.all(
      [...this.#pools.values()].map(async (pool) => {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
        const outcome = await Promise.race([pool.close().then(() => 'closed' as const, () => 'late' as const), grace]);
        clearTimeout(timer);
        if (outcome === 'late') await pool.destroy().catch(() => {});
      }),
    );
    this.#pools.clear();
  }
}
