import type { RedisEndpoint } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { DeadMarkReport } from '../../src/proxy/health.js';
import { connectClient, type RedisClient } from './client.js';
import { KeySpace } from './keys.js';


/**
 * Writes the proxy's own dead marks exactly as Hipache did, to the master:
 * SADD dead:<host> <index>; EXPIRE dead:<host> <ttl>; PUBLISH dead "<host>;<url>;<index>;<count>".
 * Fire and forget: a request never waits for it.
 */
export class DeadMarkPublisher {
  readonly #log = logger('redis');
  readonly #client: RedisClient;
  readonly #keys: KeySpace;

  constructor(endpoint: RedisEndpoint, private readonly ttlSeconds: number) {
    this.#keys = new KeySpace(endpoint.prefix);
    this.#client = connectClient(endpoint, this.#log, { name: 'writer' });
    this.#client.connect().catch(() => {}); // reconnects on its own; errors are logged by connectClient
  }

  publish(report: DeadMarkReport): void {
    if (!this.#client.isReady) {
      this.#log.warn('cannot write dead mark: redis master unreachable', { host: report.host, index: report.index });
      return;
    }
    const key = this.#keys.dead(report.host);
    const message = `${report.host};${report.backendUrl};${report.index};${report.backendCount}`;
    this.#client
      .multi()
      .sAdd(key, String(report.index))
      .expire(key, this.ttlSeconds)
      .publish('dead', message)
      .exec()
      .catch((err: Error) => this.#log.warn('writing dead mark failed', { key, error: err.message }));
  }

  async close(): Promise<void> {
    if (this.#client.isOpen) await this.#client.close().catch(() => this.#client.destroy());
  }
}
