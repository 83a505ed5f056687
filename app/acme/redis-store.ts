// The orderer's store with Redis (SPEC §7): every instance on the Redis
// shares it. The certificate goes to `tls:<host>`, which the Redis source of
// every instance already follows (that is how they all serve it); beside it,
// under `acme:` (after the configured key prefix, like every key):
//   acme:account             the account key (PEM), set once (SET NX)
//   acme:issued              hash: host -> {notBefore, notAfter} of what was ordered
//   acme:challenge:<token>   a pending HTTP-01 challenge, with an expiry
//   acme:lock:<host>         who orders for the host now (SET NX PX): one instance at a time

import { randomBytes } from 'node:crypto';
import type { RedisEndpoint } from '../../src/config/types.js';
import { LazyRedis } from '../lazy-redis.js';
import type { AcmeStore, Issued, PendingChallenge } from './store.js';

/** A challenge outlives its order's validation by far; then it is garbage. */
const CHALLENGE_TTL_MS = 10 * 60_000;
/** Deletes the lock only if it is still ours (it may have expired and been taken since). */
const UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export class RedisAcmeStore implements AcmeStore {
  /** This process's name on the locks it takes. */
  readonly #owner = randomBytes(12).toString('hex');
  readonly #redis: LazyRedis;

  constructor(private readonly endpoint: RedisEndpoint) {
    this.#redis = new LazyRedis(endpoint);
  }


  #key(name: string): string {
    return `${this.endpoint.prefix}${name}`;
  }

  async accountKey(create: () => Promise<string>): Promise<string> {
    const redis = await this.#redis.connected();
    const key = this.#key('acme:account');
    const held = await redis.get(key);
    if (held !== null) return held;
    // Two instances starting together: the first SET wins, both use its key.
    await redis.set(key, await create(), { NX: true });
    return (await redis.get(key))!;
  }

  async issued(): Promise<Map<string, Issued>> {
    const all = await (await this.#redis.connected()).hGetAll(this.#key('acme:issued'));
    const issued = new Map<string, Issued>();
    for (const [host, text] of Object.entries(all)) {
      try {
        const { notBefore, notAfter, savedAt } = JSON.parse(text) as Issued;
        if (typeof notBefore === 'number' && typeof notAfter === 'number') issued.set(host, { notBefore, notAfter, savedAt: typeof savedAt === 'number' ? savedAt : 0 });
      } catch {
        // not ours to read: ordered again as if never issued
      }
    }
    return issued;
  }

  async save(host: string, pem: string, issued: Issued): Promise<void> {
    const redis = await this.#redis.connected();
    await redis.multi().set(this.#key(`tls:${host}`), pem).hSet(this.#key('acme:issued'), host, JSON.stringify(issued)).exec();
  }

  async publishChallenge(token: string, challenge: PendingChallenge | null): Promise<void> {
    const redis = await this.#redis.connected();
    const key = this.#key(`acme:challenge:${token}`);
    if (challenge === null) await redis.del(key);
    else await redis.set(key, JSON.stringify(challenge), { PX: CHALLENGE_TTL_MS });
  }

  async challenge(token: string): Promise<PendingChallenge | null> {
    const text = await (await this.#redis.connected()).get(this.#key(`acme:challenge:${token}`));
    if (text === null) return null;
    try {
      const { host, keyAuthorization } = JSON.parse(text) as PendingChallenge;
      return typeof host === 'string' && typeof keyAuthorization === 'string' ? { host, keyAuthorization } : null;
    } catch {
      return null;
    }
  }

  async lock(host: string, ttlMs: number): Promise<boolean> {
    const reply = await (await this.#redis.connected()).set(this.#key(`acme:lock:${host}`), this.#owner, { NX: true, PX: ttlMs });
    return reply === 'OK';
  }

  async unlock(host: string): Promise<void> {
    await (await this.#redis.connected()).eval(UNLOCK, { keys: [this.#key(`acme:lock:${host}`)], arguments: [this.#owner] });
  }

  async close(): Promise<void> {
    await this.#redis.close();
  }
}
