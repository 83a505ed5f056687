// Which Redis the import/export commands talk to (--redis, or the config's
// driver), and the store's failures as the CLI reports them (exit 2).

import { openHipacheStore, RedisStoreError, type HipacheStore } from '../../adapters/redis/index.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseRedisUrl } from '../../src/config/redis-url.js';
import type { RedisEndpoint } from '../../src/config/types.js';
import { exclusive, type ParsedArgs } from './args.js';
import { CliError } from './command.js';
import { loadCliConfig } from './config.js';

/**
 * --redis URL, else the config's driver: the replica (`read`) to export what
 * the proxy reads, the master (`write`) to import.
 */
export function resolveRedis(args: ParsedArgs, role: 'read' | 'write'): RedisEndpoint {
  exclusive(args, 'redis', 'config');
  const url = args.string('redis');
  if (url !== undefined) {
    try {
      return parseRedisUrl(url);
    } catch (err) {
      throw new CliError('USAGE', `--redis: ${(err as ConfigError).problems?.join('; ') ?? (err as Error).message}`);
    }
  }
  const config = loadCliConfig(args.string('config'));
  if (config === null) throw new CliError('USAGE', 'which Redis? give --redis URL or --config FILE (no config/config.json here)');
  if (config.redis === null) throw new CliError('USAGE', `${config.origin ?? 'the config'} has no Redis "driver": give --redis URL`);
  const endpoint = config.redis[role];
  // A Sentinel setup names no fixed address: the master is whatever the sentinels say at the time.
  if (endpoint === undefined) throw new CliError('USAGE', `${config.origin ?? 'the config'} finds Redis through Sentinel: give --redis URL of the current master`);
  return endpoint;
}

/**
 * Runs `work` on the Hipache keys of `endpoint`, closing the connection
 * after; Redis unreachable or failing ends the command with exit 2.
 */
export async function withStore<T>(endpoint: RedisEndpoint, work: (store: HipacheStore) => Promise<T>): Promise<T> {
  let store: HipacheStore | undefined;
  try {
    store = await openHipacheStore(endpoint);
    return await work(store);
  } catch (err) {
    if (err instanceof RedisStoreError) throw new CliError('CONNECT', err.message, { cause: err });
    throw err;
  } finally {
    store?.close();
  }
}
