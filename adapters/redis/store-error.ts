/** Redis could not be reached, or a command failed: the CLI ends with this message (exit 2). */
export class RedisStoreError extends Error {
  readonly code = 'REDIS_UNAVAILABLE';
  override name = 'RedisStoreError';
}
