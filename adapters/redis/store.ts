// The Hipache keys as the import/export commands see them: every
// `<prefix>frontend:<host>` list read whole, and replaced whole, and every
// `<prefix>options:<frontend>` hash (per-vhost options, SPEC §9). Unlike the
// proxy's connections (which reconnect forever and never make a request
// wait), a command fails at once when Redis cannot be reached.

import type { RedisEndpoint } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import { newClient, withTimeout, type RedisClient } from './client.js';
import type { StoredOptions } from './held-options.js';
import { KeySpace } from './keys.js';
import { HipacheReader, type ReadClient } from './reader.js';
import { RedisStoreError } from './store-error.js';
import type { Reply } from './wire.js';

const TIMEOUT_MS = 10_000;

/** A frontend key's content: the raw list ([id, ...backends]), or the type it has instead. */
export type StoredFrontend = { key: string; list: string[] } | { key: string; wrongType: string };

export class HipacheStore {
  readonly keys: KeySpace;
  readonly #reader: HipacheReader;

  private constructor(
    private readonly client: RedisClient,
    readonly endpoint: RedisEndpoint,
  ) {
    this.keys = new KeySpace(endpoint.prefix);
    const reads: ReadClient = {
      send: (args) => client.sendCommand([...args]),
      multi: (commands) => commands.reduce((multi, args) => multi.addCommand([...args]), client.multi()).exec() as Promise<unknown> as Promise<Reply[]>,
    };
    this.#reader = new HipacheReader(() => reads, this.keys, logger('cli'));
  }

  static async connect(endpoint: RedisEndpoint): Promise<HipacheStore> {
    const client = newClient({
      socket: { host: endpoint.host, port: endpoint.port, connectTimeout: 3000, reconnectStrategy: false },
      username: endpoint.username,
      password: endpoint.password,
      database: endpoint.db,
    });
    client.on('error', () => {}); // the failed command or connect() reports it
    try {
      await withTimeout(client.connect(), TIMEOUT_MS, 'connect');
    } catch (err) {
      client.destroy();
      throw new RedisStoreError(`cannot connect to Redis at ${endpoint.display}: ${(err as Error).message}`, { cause: err });
    }
    return new HipacheStore(client, endpoint);
  }

  /** The Redis key of a frontend ("www.x", "*.x", "*"), prefix included. */
  frontendKey(host: string): string {
    return this.keys.frontend(host);
  }

  /** Every frontend key under the prefix (SCAN, never KEYS), as hosts ("www.x", "*.x", "*"). */
  async hosts(): Promise<string[]> {
    const hosts: string[] = [];
    await this.#run(this.#reader.scan('frontend', async (names) => void hosts.push(...names)), 'SCAN');
    return [...new Set(hosts)]; // SCAN may return a key twice
  }

  /** The Redis key of a frontend's options hash, prefix included. */
  optionsKey(key: string): string {
    return this.keys.options(key);
  }

  /** Every options key under the prefix (SCAN), as frontend keys. */
  async optionKeys(): Promise<string[]> {
    const keys: string[] = [];
    await this.#run(this.#reader.scan('options', async (names) => void keys.push(...names)), 'SCAN');
    return [...new Set(keys)];
  }

  /** The options hashes stored for `keys` (frontend keys), absent ones left out. */
  async readOptions(keys: readonly string[]): Promise<Map<string, StoredOptions>> {
    const read = await this.#run(Promise.all(keys.map(async (key) => [key, await this.#reader.options(key)] as const)), 'HGETALL');
    return new Map(read.filter(([, stored]) => stored.kind !== 'absent'));
  }

  /** Replaces the options hash of `key` at once (MULTI DEL + HSET); null or no fields: DEL. */
  async replaceOptions(key: string, fields: Readonly<Record<string, string>> | null): Promise<void> {
    const redisKey = this.keys.options(key);
    const multi = this.client.multi().del(redisKey);
    if (fields !== null && Object.keys(fields).length > 0) multi.hSet(redisKey, { ...fields });
    await this.#run(multi.exec(), fields === null ? `DEL ${redisKey}` : `replace ${redisKey}`);
  }

  /** The lists stored for `hosts`, absent keys left out. */
  async read(hosts: readonly string[]): Promise<Map<string, StoredFrontend>> {
    const read = await this.#run(Promise.all(hosts.map((host) => this.#readOne(host))), 'LRANGE');
    return new Map(read.filter((s): s is StoredFrontend => s !== null).map((s) => [s.key, s]));
  }

  /**
   * Replaces the list at once (MULTI DEL + RPUSH): a reader sees the old list or the new one, never a mix.
   * An `id` field of its options hash would name the frontend instead of the list's: it goes too.
   */
  async replace(host: string, list: readonly string[]): Promise<void> {
    const key = this.keys.frontend(host);
    await this.#run(this.client.multi().del(key).rPush(key, [...list]).hDel(this.keys.options(host), 'id').exec(), `replace ${key}`);
  }

  async remove(host: string): Promise<void> {
    await this.#run(this.client.del(this.keys.frontend(host)), `DEL ${this.keys.frontend(host)}`);
  }

  close(): void {
    this.client.destroy();
  }

  async #readOne(host: string): Promise<StoredFrontend | null> {
    const key = this.keys.frontend(host);
    try {
      const list = await this.client.sendCommand<string[]>(['LRANGE', key, '0', '-1']);
      return list.length === 0 ? null : { key: host, list };
    } catch (err) {
      if (!(err as Error).message.startsWith('WRONGTYPE')) throw err;
      return { key: host, wrongType: String(await this.client.type(key)) };
    }
  }

  async #run<T>(work: Promise<T>, what: string): Promise<T> {
    try {
      return await withTimeout(work, TIMEOUT_MS, what);
    } catch (err) {
      throw new RedisStoreError(`Redis at ${this.endpoint.display}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
