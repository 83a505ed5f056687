// With Redis (SPEC §9): the verdicts are Hipache dead marks, `dead:<host>`
// sets of backend indexes, which every instance (and any external checker)
// reads and writes; and one prober per backend across the instances, a lock
// under `health:lock:` (after the configured key prefix) that its holder
// renews at each check and another instance takes once it has expired.

import { createHash, randomBytes } from 'node:crypto';
import type { RedisEndpoint } from '../../src/config/types.js';
import { LazyRedis } from '../lazy-redis.js';
import type { Claim, HealthMarks } from './marks.js';
import type { HealthTarget } from './targets.js';

/** SET NX PX, or PEXPIRE when the lock is already ours: 2: taken from nobody; 1: renewed; 0: another's. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 2 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

/**
 * SADD as Hipache, then the set's expiry: set on a new set, lengthened when
 * less than half the check's TTL is left (so a failing backend's mark never
 * runs out, and the set is not rewritten at every check), never shortened
 * (a passive mark's deadBackendTTL) nor added to a set without one (an
 * external checker's). PUBLISH dead, as Hipache, when the member is new.
 */
const MARK = `
local existed = redis.call('EXISTS', KEYS[1])
local added = redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if existed == 0 or (left >= 0 and left < ttl / 2) then redis.call('PEXPIRE', KEYS[1], ttl) end
if added == 1 then redis.call('PUBLISH', 'dead', ARGV[3]) end
return added`;

export class RedisHealthMarks implements HealthMarks {
  /** This process's name on the locks it takes. */
  readonly #owner = randomBytes(12).toString('hex');
  readonly #redis: LazyRedis;

  constructor(private readonly endpoint: RedisEndpoint) {
    this.#redis = new LazyRedis(endpoint);
  }


  #dead(name: string): string {
    return `${this.endpoint.prefix}dead:${name}`;
  }

  async claim(id: string, ttlMs: number): Promise<Claim> {
    const key = `${this.endpoint.prefix}health:lock:${createHash('sha1').update(id).digest('hex')}`;
    const reply = await (await this.#redis.connected()).eval(CLAIM, { keys: [key], arguments: [this.#owner, String(ttlMs)] });
    return reply === 2 ? 'taken' : reply === 1 ? 'kept' : null;
  }

  async marked(target: HealthTarget): Promise<boolean> {
    const [first] = target.marks;
    if (first === undefined) return false;
    return Number(await (await this.#redis.connected()).sIsMember(this.#dead(first.name), String(first.index))) === 1;
  }

  async mark(target: HealthTarget, ttlMs: number): Promise<void> {
    const redis = await this.#redis.connected();
    const multi = redis.multi();
    for (const place of target.marks) {
      const message = `${place.name};${target.url};${place.index};${place.backendCount}`;
      multi.eval(MARK, { keys: [this.#dead(place.name)], arguments: [String(place.index), String(ttlMs), message] });
    }
    await multi.exec();
  }

  async revive(target: HealthTarget): Promise<void> {
    const redis = await this.#redis.connected();
    const multi = redis.multi();
    for (const place of target.marks) multi.sRem(this.#dead(place.name), String(place.index));
    await multi.exec();
  }

  async close(): Promise<void> {
    await this.#redis.close();
  }
}
