import { RedisClient as NodeRedisClient, type RedisClientOptions, type RedisClientType } from '@redis/client';
import type { RedisEndpoint } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';

/** node-redis without modules (`@redis/client`, not `redis`: JSON, search, time series and bloom cost ~3 MiB per process), RESP3. */
export type RedisClient = RedisClientType<{}, {}, {}, 3, {}>;

/** What newClient takes: everything but the protocol, which every client here shares (RESP3). */
export type NewClientOptions = Omit<RedisClientOptions<{}, {}, {}, 3, {}>, 'RESP' | 'modules' | 'functions' | 'scripts'>;

const SHARED_CONFIG = { RESP: 3 } as const;
let makeClient: ReturnType<typeof NodeRedisClient.factory<{}, {}, {}, 3>> | undefined;

/**
 * A node-redis client. createClient() builds a new client class (a prototype
 * holding every Redis command, and a Multi class) on each call: about 17 MiB
 * of short-lived garbage each time, which made a worker's heap balloon at
 * start (three clients) and a Sentinel watcher churn through it on every poll.
 * Every client here has the same protocol and no modules, so the class is
 * built once per process and each client is only an instance of it.
 */
export function newClient(options: NewClientOptions): RedisClient {
  makeClient ??= NodeRedisClient.factory(SHARED_CONFIG);
  return makeClient(options);
}

export interface ClientOptions {
  /** RESP3 with invalidation pushes emitted as 'invalidate' events (client tracking mode). */
  tracking?: boolean;
  name: string;
  /**
   * No per-command timeout: for the notification connection, whose only
   * commands are the barrier PINGs (PingBarrier has its own timeout) and
   * node-redis would otherwise arm an AbortSignal timer for each one.
   */
  noCommandTimeout?: boolean;
}

/**
 * A node-redis client that never queues commands while disconnected (a
 * request must not wait on an unreachable Redis) and reconnects with capped,
 * jittered backoff forever.
 */
export function connectClient(endpoint: RedisEndpoint, log: Logger, options: ClientOptions): RedisClient {
  const client = newClient({
    socket: {
      host: endpoint.host,
      port: endpoint.port,
      connectTimeout: 2000,
      keepAlive: true,
      noDelay: true,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) + Math.floor(Math.random() * 100),
    },
    username: endpoint.username,
    password: endpoint.password,
    database: endpoint.db,
    disableOfflineQueue: true,
    ...(options.noCommandTimeout ? { commandOptions: { timeout: 0 } } : {}),
    ...(options.tracking ? { emitInvalidate: true } : {}),
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    // node-redis repeats the same error on every reconnect attempt; log changes only.
    if (err.message !== lastError) log.warn('redis connection error', { conn: options.name, redis: endpoint.display, error: err.message });
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError !== '') log.info('redis connection restored', { conn: options.name, redis: endpoint.display });
    lastError = '';
  });
  return client;
}

/**
 * Closes a client politely (QUIT after its pending replies) when Redis is
 * there, at once otherwise: a shutdown must never wait on a Redis that is
 * gone or hung (it is often stopped by the same signal).
 */
export async function closeClient(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) return client.destroy();
  await withTimeout(client.close(), 1000, 'QUIT').catch(() => client.destroy());
}

/** Settles with the promise, or rejects after `ms` (Redis hung). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
