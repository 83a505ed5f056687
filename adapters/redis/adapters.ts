import type { RedisSourceConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { ConfigSource } from '../../src/source.js';
import { DeadMarkPublisher } from './dead-marks.js';
import { SentinelWatcher } from './sentinel.js';
import { SentinelSource } from './sentinel-source.js';
import { RedisSource } from './source.js';

export interface RedisAdapters {
  source: ConfigSource;
  publisher: DeadMarkPublisher;
}

/**
 * The Redis config source and the dead-mark writer of one process. With
 * Sentinel both follow one watcher, so reads and writes always move to the
 * same master together; the source owns the watcher (starts and stops it).
 */
export function redisAdapters(config: RedisSourceConfig, deadBackendTTL: number): RedisAdapters {
  if (config.sentinel === undefined) {
    return { source: new RedisSource(config), publisher: new DeadMarkPublisher(config.write, deadBackendTTL) };
  }
  const watcher = new SentinelWatcher(config.sentinel, logger('redis'));
  const publisher = new DeadMarkPublisher(null, deadBackendTTL);
  watcher.onChange((master) => publisher.moveTo(master));
  return { source: new SentinelSource(config, watcher), publisher };
}
