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

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close().catch(() => p.destroy())));
    this.#pools.clear();
  }
}
