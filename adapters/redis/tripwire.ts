// What the change feed cannot see. FLUSHDB, FLUSHALL, SWAPDB and a replica's
// full resync replace a whole database without a keyspace notification (and
// SWAPDB without a tracking invalidation either). But each one marks dirty
// every connection that WATCHes a key that existed in the database (Redis
// 6.2 and later), and the mark stays until UNWATCH. So the feed connection
// WATCHes a marker key kept in the database, and the read-your-writes barrier
// asks for that connection's flags (CLIENT INFO) instead of a bare PING: the
// same single round trip, answered after the same notifications.

import type { Logger } from '../../src/log.js';
import type { KeySpace } from './keys.js';
import type { Reply, WireClient } from './wire.js';

/** The marker's value, for an operator wondering what the key is. */
const MARKER_VALUE = 'switchyard watches this key to notice FLUSHDB, FLUSHALL, SWAPDB and full resyncs; deleting it makes every instance read all routes again';
/**
 * How long a marker written to the master may take to reach the replica read
 * from. Longer, and the marker's arrival trips the WATCH: one resync more.
 */
const REPLICATION_WAIT_MS = 100;
const REPLICATION_POLL_MS = 10;

/** Where the marker is written: the connection read from, or the master of a [replica, master] pair. */
export type MarkerWriter = (args: string[]) => Promise<Reply>;

/** A WATCH set on a feed connection by resync `by`; `marker`: the key existed then. */
interface Armed {
  conn: WireClient;
  by: number;
  marker: boolean;
}

export class DatasetTripwire {
  /** The feed connection whose WATCH is set, and by which resync; null: not armed (probes are PINGs). */
  #armed: Armed | null = null;
  readonly #known = new WeakSet<WireClient>();
  #refusal = '';

  constructor(
    private readonly keys: KeySpace,
    private readonly write: MarkerWriter,
    /** The database was replaced after the WATCH set by resync `armedBy`: a later resync must read it again. */
    private readonly tripped: (armedBy: number) => void,
    private readonly log: Logger,
  ) {}

  /** Armed with a marker present: nothing replaces the database unnoticed (a tracking flush message adds nothing). */
  get watching(): boolean {
    return this.#armed?.marker === true && this.#armed.conn.isReady;
  }

  /**
   * Called by resync `generation` before it reads the snapshot: makes sure the
   * marker exists, then clears the dirty mark and WATCHes the marker again on
   * `feed`. Never fails: without it, only the tripwire is missing (logged).
   */
  async arm(feed: WireClient, generation: number): Promise<void> {
    if (this.#armed !== null && this.#armed.by > generation) return; // a newer resync armed it already
    this.#forgetOnReconnect(feed);
    const key = this.keys.marker();
    try {
      const marker = (await feed.send(['EXISTS', key])) === 1 || (await this.#create(feed, key));
      // Sent together: a probe sent after these sees only what happens after the WATCH.
      const replies = [feed.send(['UNWATCH']), feed.send(['WATCH', key]), feed.send(['EXISTS', key]), feed.send(['CLIENT', 'INFO'])];
      this.#armed = { conn: feed, by: generation, marker };
      const [, , exists] = await Promise.all(replies);
      const armed = this.#armed as Armed | null; // a reconnect meanwhile may have cleared it
      if (armed?.conn === feed && armed.by === generation) armed.marker = exists === 1;
      if (exists !== 1) this.#refused(`the marker key ${key} is missing (written to the master, not seen where routes are read)`);
      else if (this.#refusal !== '') this.#refusal = '';
    } catch (err) {
      this.#armed = null;
      this.#refused((err as Error).message);
    }
  }

  /** The barrier's round trip on `feed`: CLIENT INFO while armed (reporting a trip before it resolves), PING otherwise. */
  probe(feed: WireClient): Promise<unknown> {
    const armed = this.#armed;
    if (armed === null || armed.conn !== feed) return feed.ping();
    const armedBy = armed.by;
    return feed.send(['CLIENT', 'INFO']).then((info) => {
      if (typeof info === 'string' && dirty(info)) this.tripped(armedBy);
    });
  }

  /**
   * Under maxmemory with an allkeys-lru or -lfu policy, a key nobody reads is
   * the first evicted: its eviction costs a resync, so it is read now and then.
   */
  keepInUse(feed: WireClient): void {
    if (this.#armed?.conn === feed) feed.send(['TOUCH', this.keys.marker()]).catch(() => {});
  }

  /** Writes the marker where it is written (the master), then waits until it can be read on `feed`. */
  async #create(feed: WireClient, key: string): Promise<boolean> {
    await this.write(['SET', key, MARKER_VALUE, 'NX']);
    for (const deadline = Date.now() + REPLICATION_WAIT_MS; Date.now() < deadline; ) {
      if ((await feed.send(['EXISTS', key])) === 1) return true;
      await new Promise((resolve) => setTimeout(resolve, REPLICATION_POLL_MS));
    }
    return false;
  }

  /** A new connection has no WATCH: probes are PINGs until the resync after the reconnect arms it again. */
  #forgetOnReconnect(feed: WireClient): void {
    if (this.#known.has(feed)) return;
    this.#known.add(feed);
    feed.on('reconnecting', () => {
      if (this.#armed?.conn === feed) this.#armed = null;
    });
  }

  #refused(reason: string): void {
    if (reason === this.#refusal) return;
    this.#refusal = reason;
    this.log.warn('cannot watch the redis database as a whole: FLUSHDB, FLUSHALL, SWAPDB and full resyncs of a replica may go unseen until the next reconnect', { reason });
  }
}

/** CLIENT INFO's `flags=` field holds `d` once a watched key was touched (EXEC would fail). */
function dirty(info: string): boolean {
  const start = info.indexOf(' flags=') + 7;
  if (start < 7) return false;
  const end = info.indexOf(' ', start);
  return info.slice(start, end < 0 ? undefined : end).includes('d');
}
