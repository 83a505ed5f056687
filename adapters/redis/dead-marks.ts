import type { RedisEndpoint } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { DeadMarkPublisher, DeadMarkReport } from '../../src/vocabulary/dead-marks.js';
import { connectWire, type WireClient } from './wire.js';
import { KeySpace } from './keys.js';

/**
 * Writes the proxy's own dead marks exactly as Hipache did, to the master:
 * SADD dead:<host> <index>; EXPIRE dead:<host> <ttl>; PUBLISH dead "<host>;<url>;<index>;<count>".
 * Fire and forget: a request never waits for it.
 */
export class RedisDeadMarks implements DeadMarkPublisher {
  readonly #log = logger('redis');
  #client: WireClient | null = null;
  #keys = new KeySpace('');

  /** `endpoint` null: the master is not known yet (Sentinel); moveTo() names it. */
  constructor(endpoint: RedisEndpoint | null, private readonly ttlSeconds: number) {
    if (endpoint !== null) this.moveTo(endpoint);
  }

  /** Writes go to `endpoint` from now on (a new master); the previous connection is closed. */
  moveTo(endpoint: RedisEndpoint): void {
    const previous = this.#client;
    this.#keys = new KeySpace(endpoint.prefix);
    this.#client = connectWire(endpoint, this.#log, { name: 'writer' });
    void this.#client.connect(); // reconnects on its own; errors are logged by the client
    if (previous !== null) void previous.close();
  }

  publish(report: DeadMarkReport): void {
    const client = this.#client;
    if (client === null || !client.isReady) {
      const why = client === null ? 'redis master not known yet' : 'redis master unreachable';
      this.#log.warn(`cannot write dead mark: ${why}`, { host: report.host, index: report.index });
      return;
    }
    const key = this.#keys.dead(report.host);
    const message = `${report.host};${report.backendUrl};${report.index};${report.backendCount}`;
    client
      .multi([
        ['SADD', key, String(report.index)],
        ['EXPIRE', key, String(this.ttlSeconds)],
        ['PUBLISH', 'dead', message],
      ])
      .catch((err: Error) => this.#log.warn('writing dead mark failed', { key, error: err.message }));
  }

  async close(): Promise<void> {
    if (this.#client !== null) await this.#client.close();
  }
}
