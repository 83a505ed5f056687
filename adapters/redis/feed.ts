import type { Logger } from '../../src/log.js';
import type { RedisDirectConfig } from '../../src/config/types.js';
import { connectWire, type Push, type WireClient } from './wire.js';
import { PingBarrier } from './barrier.js';
import { KEY_KINDS, type KeySpace } from './keys.js';
import type { DatasetTripwire } from './tripwire.js';

export type FeedMode = 'keyspace' | 'tracking' | 'per-request';

/**
 * Keyspace event classes needed: K keyspace, g generic (del, expire, rename), l list, s set, h hash (`options:`),
 * x expired, e evicted, and $ string: a `tls:` key is one, and a SET over a frontend list replaces it and
 * announces itself only as a string event.
 */
const REQUIRED_FLAGS = ['K', 'g', '$', 'l', 's', 'h', 'x', 'e'];

/** With no request to run it, the barrier (and so the tripwire) is checked this often. */
const IDLE_CHECK_MS = 1000;

/**
 * The change feed: tells which Redis keys changed, by keyspace notifications
 * or, where CONFIG SET is forbidden (managed Redis), by client tracking in
 * broadcast mode; and, on the same connection, that the database was replaced
 * as a whole (DatasetTripwire). It only triggers re-reads; the snapshot stays
 * the truth.
 */
export class ChangeFeed {
  #subscriber: WireClient | null = null;
  #tracker: WireClient | null = null;
  #mode: FeedMode | null = null;
  #idleCheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: RedisDirectConfig,
    private readonly keys: KeySpace,
    private readonly tripwire: DatasetTripwire,
    private readonly log: Logger,
    private readonly onChanged: (redisKey: string) => void,
    /** Called when the feed lost track of every key (a flush the tripwire does not watch for): a full resync is due. */
    private readonly onLostTrack: () => void,
    /** Called when a feed connection (re)connects, so the source resynchronises. */
    private readonly onReconnect: () => void,
  ) {}

  get mode(): FeedMode | null {
    return this.#mode;
  }

  #barrier: PingBarrier | null = null;

  #feedConnection(): WireClient | null {
    return this.#mode === 'keyspace' ? this.#subscriber : this.#mode === 'tracking' ? this.#tracker : null;
  }

  /**
   * Calls `then` once every change notification Redis produced before this call
   * has been handled, and a database replaced before it reported (see
   * PingBarrier, DatasetTripwire); false (and `then` never called) when there
   * is no live notification connection to ask.
   */
  afterBarrier(then: () => void): boolean {
    if (this.#feedConnection()?.isReady !== true) return false;
    this.#barrier ??= new PingBarrier(() => this.#probe(), this.config.syncTimeoutMs);
    this.#barrier.then(then);
    return true;
  }

  /** A replaced database is noticed without requests too (or with readYourWrites off), and the marker stays in use. */
  #idle(): void {
    const feed = this.#feedConnection();
    if (feed?.isReady !== true) return;
    this.tripwire.keepInUse(feed);
    this.afterBarrier(() => {});
  }

  #probe(): Promise<unknown> {
    const feed = this.#feedConnection();
    return feed === null ? Promise.resolve() : this.tripwire.probe(feed);
  }

  #establishing: Promise<unknown> = Promise.resolve();

  /**
   * Make sure changes are being followed; called before every full resync. One call at a time:
   * overlapping resyncs (several connections becoming ready) would otherwise open two subscribers,
   * or interleave CLIENT TRACKING OFF/ON so that the second ON fails on its overlapping prefixes.
   */
  establish(data: WireClient, generation: number): Promise<FeedMode> {
    const run = this.#establishing.then(() => this.#establish(data, generation));
    this.#establishing = run.catch(() => {});
    return run;
  }

  async #establish(data: WireClient, generation: number): Promise<FeedMode> {
    const mode = await this.#choose(data);
    const feed = this.#feedConnection();
    if (feed !== null) {
      await this.tripwire.arm(feed, generation);
      this.#idleCheck ??= setInterval(() => this.#idle(), IDLE_CHECK_MS).unref();
    }
    return mode;
  }

  async #choose(data: WireClient): Promise<FeedMode> {
    // A feed connection still reconnecting (Redis restarted) is no reason to fall back to another
    // mode for good: fail this resync; the connection's 'ready' triggers the next one.
    const feed = this.#mode === 'keyspace' ? this.#subscriber : this.#mode === 'tracking' ? this.#tracker : null;
    if (feed !== null && !feed.isReady) throw new Error(`the ${this.#mode} connection is not connected yet`);
    const wanted = this.config.tracking;
    if (this.#mode === 'keyspace' || ((wanted === 'auto' || wanted === 'keyspace') && this.#mode === null)) {
      const ok = await this.#enableKeyspace(data, wanted === 'keyspace');
      if (ok) return this.#set('keyspace');
    }
    if (this.#mode === 'tracking' || ((wanted === 'auto' || wanted === 'tracking') && this.#mode !== 'keyspace')) {
      const ok = await this.#enableTracking(wanted === 'tracking');
      if (ok) return this.#set('tracking');
    }
    if (this.#mode !== 'per-request') {
      if (wanted === 'per-request') this.log.info('per-request mode chosen in the config: every request reads redis (Hipache mode)');
      else this.log.warn('redis offers neither keyspace notifications nor client tracking: every request reads redis (Hipache mode)');
    }
    return this.#set('per-request');
  }

  async close(): Promise<void> {
    clearInterval(this.#idleCheck);
    for (const client of [this.#subscriber, this.#tracker]) {
      if (client !== null) await client.close();
    }
  }

  #set(mode: FeedMode): FeedMode {
    if (this.#mode !== mode) this.log.info('following redis changes', { mode });
    this.#mode = mode;
    return mode;
  }

  async #enableKeyspace(data: WireClient, required: boolean): Promise<boolean> {
    try {
      const reply = (await data.send(['CONFIG', 'GET', 'notify-keyspace-events'])) as string[];
      const current = reply[1] ?? '';
      const flags = expandFlags(current);
      const missing = REQUIRED_FLAGS.filter((f) => !flags.has(f));
      if (missing.length > 0) {
        const merged = [...new Set([...current.replace('A', 'g$lshzxe'), ...missing])].join('');
        await data.send(['CONFIG', 'SET', 'notify-keyspace-events', merged]);
        this.log.info('enabled redis keyspace notifications', { 'notify-keyspace-events': merged });
      }
    } catch (err) {
      const level = required ? 'error' : 'info';
      this.log[level]('cannot use keyspace notifications (CONFIG GET/SET refused)', { error: (err as Error).message });
      return false;
    }
    if (this.#subscriber === null) {
      // RESP3: messages are pushes, so the barrier PING is answered in-band on the subscribed connection.
      const sub = connectWire(this.config.read, this.log, { name: 'subscriber', resp3: true, onPush: (push) => this.#onMessage(push) });
      await sub.connect();
      // Only a *re*connect calls for a resync: this first connection is part of the one under way.
      sub.on('ready', () => this.onReconnect());
      const db = this.config.read.db;
      await sub.pSubscribe(KEY_KINDS.map((kind) => `__keyspace@${db}__:${this.keys.pattern(kind)}`));
      this.#subscriber = sub;
    }
    return this.#subscriber.isReady;
  }

  async #enableTracking(required: boolean): Promise<boolean> {
    try {
      if (this.#tracker === null) {
        const tracker = connectWire(this.config.read, this.log, { name: 'tracker', resp3: true, onPush: (push) => this.#onInvalidate(push) });
        this.#tracker = tracker;
        await tracker.connect();
        // Only a *re*connect calls for a resync: this first connection is part of the one under way.
        tracker.on('ready', () => this.onReconnect());
      }
      // A resync on a live connection finds tracking on; broadcast mode with these prefixes needs OFF first.
      await this.#tracker.send(['CLIENT', 'TRACKING', 'OFF']);
      const prefixes = KEY_KINDS.flatMap((kind) => ['PREFIX', `${this.keys.prefix}${kind}:`]);
      await this.#tracker.send(['CLIENT', 'TRACKING', 'ON', 'BCAST', ...prefixes]);
      return true;
    } catch (err) {
      const level = required ? 'error' : 'info';
      this.log[level]('cannot use client tracking', { error: (err as Error).message });
      if (this.#tracker !== null && this.#mode !== 'tracking') {
        this.#tracker.destroy();
        this.#tracker = null;
      }
      return false;
    }
  }

  /** A keyspace notification: ['pmessage', pattern, '__keyspace@<db>__:<key>', event]. */
  #onMessage(push: Push): void {
    const channel = push[2];
    if (push[0] === 'pmessage' && typeof channel === 'string') this.onChanged(channel.slice(channel.indexOf(':') + 1));
  }

  /**
   * ['invalidate', [keys]], or ['invalidate', null] when Redis flushed a
   * database, any database (FLUSHDB, FLUSHALL, a replica's full resync): the
   * tripwire, when set, tells whether it was this one.
   */
  #onInvalidate(push: Push): void {
    if (push[0] !== 'invalidate') return;
    const keys = push[1];
    if (!Array.isArray(keys)) return this.tripwire.watching ? undefined : this.onLostTrack();
    for (const key of keys) if (typeof key === 'string') this.onChanged(key);
  }
}

function expandFlags(value: string): Set<string> {
  return new Set(value.replace('A', 'g$lshzxe').split(''));
}
