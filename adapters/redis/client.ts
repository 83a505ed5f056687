import { RedisClient as NodeRedisClient, type RedisClientOptions, type RedisClientType } from '@redis/client';

export { withTimeout } from './timeout.js';

// node-redis, for the CLI and Sentinel discovery only: a worker's own connections
// (data, change feed, dead marks) use the smaller WireClient (wire.ts).

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
