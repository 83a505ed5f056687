// The Redis adapter's public entry: the only module of adapters/redis that
// code outside it imports. What a worker needs is loaded with it; what only
// the CLI uses (node-redis) is loaded on demand.

import type { RedisEndpoint, RedisSourceConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { DeadMarkPublisher } from '../../src/vocabulary/dead-marks.js';
import type { ConfigSource } from '../../src/vocabulary/source.js';
import { RedisDeadMarks } from './dead-marks.js';
import { RedisSource } from './source.js';
import type { HipacheStore } from './store.js';

export type { HipacheStore, StoredFrontend } from './store.js';
export { RedisStoreError } from './store-error.js';
export type { StoredOptions } from './held-options.js';
export { optionFields, optionsHash, parseOptions, servedFrontend, type OptionProblem, type VhostOptions } from './options.js';

export interface RedisAdapters {
  source: ConfigSource;
  publisher: DeadMarkPublisher;
}

/**
 * The Redis config source and the dead-mark writer of one process. With
 * Sentinel both follow one watcher, so reads and writes always move to the
 * same master together; the source owns the watcher (starts and stops it).
 */
export async function redisAdapters(config: RedisSourceConfig, deadBackendTTL: number): Promise<RedisAdapters> {
  if (config.sentinel === undefined) {
    return { source: new RedisSource(config), publisher: new RedisDeadMarks(config.write, deadBackendTTL) };
  }
  // Loaded only with Sentinel configured, like every adapter a worker may not need.
  const [{ SentinelWatcher }, { SentinelSource }] = await Promise.all([import('./sentinel.js'), import('./sentinel-source.js')]);
  const watcher = new SentinelWatcher(config.sentinel, logger('redis'));
  const publisher = new RedisDeadMarks(null, deadBackendTTL);
  watcher.onChange((master) => publisher.moveTo(master));
  return { source: new SentinelSource(config, watcher), publisher };
}

/** The Hipache keys of one Redis, for the CLI (export, import): fails at once when Redis cannot be reached. */
export async function openHipacheStore(endpoint: RedisEndpoint): Promise<HipacheStore> {
  const { HipacheStore } = await import('./store.js');
  return HipacheStore.connect(endpoint);
}
