// The ticket key every instance on one Redis shares: one string key,
// `<prefix>ticket-key` in the configured database, holding key.ts's JSON.
// Read and, when absent or older than the rotation period, replaced by one
// Lua script: Redis runs it atomically, so when several instances find it
// stale at once exactly one replaces it and all get that one. Its age is
// judged by Redis's clock (TIME), so instances with skewed clocks agree.

import type { RedisEndpoint } from '../../src/config/types.js';
import { LazyRedis } from '../lazy-redis.js';
import { freshTicketKey, parseTicketKey, type TicketKey } from './key.js';

/** KEYS[1]: the key; ARGV[1]: a fresh key (base64), used only if the held one is stale; ARGV[2]: the rotation period (ms). */
const CURRENT_OR_REPLACE = `
redis.replicate_commands()
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local held = redis.call('GET', KEYS[1])
if held then
  local ok, value = pcall(cjson.decode, held)
  if ok and type(value) == 'table' and type(value.key) == 'string' and string.len(value.key) == string.len(ARGV[1])
    and type(value.createdAt) == 'number' and value.createdAt <= now and now - value.createdAt < tonumber(ARGV[2]) then
    return held
  end
end
local fresh = cjson.encode({ key = ARGV[1], createdAt = now })
redis.call('SET', KEYS[1], fresh)
return fresh
`;

/** A Redis that does not answer within this keeps the instance on its current key until the next look. */
const ANSWER_TIMEOUT_MS = 3000;

export class RedisTicketKeyStore {
  readonly #redis: LazyRedis;
  readonly #name: string;

  constructor(endpoint: RedisEndpoint) {
    this.#name = `${endpoint.prefix}ticket-key`;
    // While Redis is away a look fails at once (and the key stays) instead of queueing.
    this.#redis = new LazyRedis(endpoint, { connectTimeoutMs: ANSWER_TIMEOUT_MS, failFast: true });
  }

  /** The shared key: the one held if younger than `rotationMs`, else a new one (this instance's or another's, whichever came first). */
  async current(rotationMs: number): Promise<TicketKey> {
    const reply = await withTimeout(this.#eval(rotationMs), ANSWER_TIMEOUT_MS);
    const key = parseTicketKey(String(reply));
    // The value is a secret: the error never quotes it.
    if (key === null) throw new Error(`${this.#name} holds no valid ticket key`);
    return key;
  }

  async #eval(rotationMs: number): Promise<unknown> {
    return (await this.#redis.connected()).eval(CURRENT_OR_REPLACE, { keys: [this.#name], arguments: [freshTicketKey().key, String(rotationMs)] });
  }

  async close(): Promise<void> {
    await this.#redis.close();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
