import type { RedisSourceConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { ConfigSource } from '../../src/source.js';
import { DeadMarkPublisher } from './dead-marks.js';
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
export async function redisAdapters(config: RedisSourceConfig, deadBackendTTL: number): Promise<RedisAdapters> {
  if (config.sentinel === undefined) {
    return { source: new RedisSource(config), publisher: new DeadMarkPublisher(config.write, deadBackendTTL) };
  }
  // Loaded only with Sentinel configured, like every adapter a worker may not need.
  const [{ SentinelWatcher }, { SentinelSource }] = await Promise.all([import('./sentinel.js'), import('./sentinel-source.js')]);
  const watcher = new SentinelWatcher(config.sentinel, logger('redis'));
  const publisher = new DeadMarkPublisher(null, deadBackendTTL);
  watcher.onChange((master) => publisher.moveTo(master));
  return { source: new SentinelSource(config, watcher), publisher };
}
