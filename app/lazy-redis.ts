// The Redis connection of a job beside the proxy (ACME orders and challenges,
// health checks, ticket keys): opened at its first use, so a job that never
// needs Redis opens nothing; reconnecting on its own; its failures reported
// by each command, not by the client.

import { createClient } from '@redis/client';
import type { RedisEndpoint } from '../src/config/types.js';

export type RedisClient = ReturnType<typeof createClient>;

export class LazyRedis {
  readonly #client: RedisClient;
  #connected: Promise<unknown> | null = null;

  /** `failFast`: while Redis is away a command fails at once instead of waiting in the offline queue. */
  constructor(endpoint: RedisEndpoint, options: { connectTimeoutMs?: number; failFast?: boolean } = {}) {
    this.#client = createClient({
      socket: {
        host: endpoint.host,
        port: endpoint.port,
        connectTimeout: options.connectTimeoutMs ?? 3000,
        reconnectStrategy: (retries) => Math.min(retries * 100, 2000),
      },
      username: endpoint.username,
      password: endpoint.password,
      database: endpoint.db,
      disableOfflineQueue: options.failFast ?? false,
    });
    this.#client.on('error', () => {}); // each command's own failure reports it
  }

  /** The client, connected (a failed connection is tried again at the next call). */
  async connected(): Promise<RedisClient> {
    this.#connected ??= this.#client.connect().catch((err: unknown) => {
      this.#connected = null;
      throw err;
    });
    await this.#connected;
    return this.#client;
  }

  async close(): Promise<void> {
    if (this.#connected === null) return;
    await this.#client.quit().catch(() => this.#client.destroy());
  }
}
