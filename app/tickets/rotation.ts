// The master's session ticket key (SPEC §7): one for every worker of the
// instance, replaced every https.ticketKeyRotation; with Redis, shared by
// every instance on it (redis-store.ts). Each replacement is handed to
// `changed`, which passes it on to the workers.

import type { RedisEndpoint } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import { freshTicketKey, type TicketKey } from './key.js';
import type { RedisTicketKeyStore } from './redis-store.js';

const log = logger('tls');
/** How often the key's age (or Redis's key) is looked at: a tenth of the period, within these bounds. */
const MAX_LOOK_INTERVAL_MS = 60_000;
const MIN_LOOK_INTERVAL_MS = 100;

export interface TicketKeySettings {
  /** null: no HTTPS listener, nothing to rotate. */
  rotationMs: number | null;
  /** Where the instances share the key; null: this instance's own. */
  redis: RedisEndpoint | null;
}

export class TicketKeyRotation {
  #key: TicketKey;
  #store: RedisTicketKeyStore | null = null;
  #timer: NodeJS.Timeout | undefined;
  #looking = false;
  /** Redis failed the last look: logged once until it answers again. */
  #unreachable = false;
  #stopped = false;

  constructor(
    readonly settings: TicketKeySettings,
    initial: TicketKey,
    private readonly changed: (key: string) => void,
  ) {
    this.#key = initial;
  }

  /** The key in force: a secret, for the workers only. */
  get current(): TicketKey {
    return this.#key;
  }

  /** Takes the shared key (or rotates the own) once, then keeps looking. Never fails: a Redis that does not answer leaves the current key. */
  async start(): Promise<void> {
    const { rotationMs, redis } = this.settings;
    if (rotationMs === null) return;
    if (redis !== null) {
      const { RedisTicketKeyStore } = await import('./redis-store.js');
      if (this.#stopped) return;
      this.#store = new RedisTicketKeyStore(redis);
    }
    await this.#look(rotationMs);
    if (this.#stopped) return;
    const interval = Math.max(MIN_LOOK_INTERVAL_MS, Math.min(MAX_LOOK_INTERVAL_MS, rotationMs / 10));
    this.#timer = setInterval(() => void this.#look(rotationMs), interval).unref();
  }

  async #look(rotationMs: number): Promise<void> {
    if (this.#looking) return; // a slow Redis: one look at a time
    this.#looking = true;
    try {
      this.#take(this.#store === null ? this.#ownKey(rotationMs) : await this.#sharedKey(rotationMs));
    } finally {
      this.#looking = false;
    }
  }

  #ownKey(rotationMs: number): TicketKey {
    return Date.now() - this.#key.createdAt >= rotationMs ? freshTicketKey() : this.#key;
  }

  async #sharedKey(rotationMs: number): Promise<TicketKey> {
    try {
      const key = await this.#store!.current(rotationMs);
      if (this.#unreachable) log.info('TLS ticket key: Redis answers again; the shared key is used', {});
      this.#unreachable = false;
      return key;
    } catch (err) {
      if (!this.#unreachable) log.warn('TLS ticket key: Redis unreachable; the current key stays until it answers', { error: (err as Error).message });
      this.#unreachable = true;
      return this.#key;
    }
  }

  #take(key: TicketKey): void {
    if (this.#stopped || key.key === this.#key.key) return;
    this.#key = key;
    log.info('TLS session ticket key replaced', { createdAt: new Date(key.createdAt).toISOString(), shared: this.#store !== null ? 'redis' : 'instance' });
    this.changed(key.key);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#store?.close();
  }
}
