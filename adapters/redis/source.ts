import type { ConfigEvent, DeadMark, FrontendSpec } from '../../src/vocabulary/events.js';
import type { RedisDirectConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import type { ConfigSource, EventSink, SourceState, SourceStatus } from '../../src/vocabulary/source.js';
import { connectWire, withTimeout, type WireClient } from './wire.js';
import { ChangeFeed } from './feed.js';
import { KeySpace, type KeyRef } from './keys.js';
import { HipacheReader } from './reader.js';
import { SnapshotRead } from './snapshot.js';

/** The re-reads of one changed key. */
interface Refresh {
  /** Reads sent and not answered yet. */
  inflight: number;
  /** Sequence number of the newest read: only its answer is applied (older ones are superseded). */
  newest: number;
  /** The newest read is still corked (not on the wire): it will see any change announced now. */
  unsent: boolean;
  /** A change came with MAX_READS_PER_KEY reads in flight: one more read when one returns. */
  again: boolean;
  /** Settles once no read of the key is under way. */
  done: Promise<void>;
  settle: () => void;
}

/**
 * A change announced while a read of its key is already on the wire needs a
 * read of its own. Sent at once (pipelined), it costs one round trip instead
 * of two; beyond this many in flight, one more read follows the first answer.
 */
const MAX_READS_PER_KEY = 2;

const HEALTH_INTERVAL_MS = 1000;
/** A snapshot read that receives nothing for this long fails (and is retried). */
const SNAPSHOT_IDLE_TIMEOUT_MS = 10_000;

/**
 * Hipache's Redis keys as a ConfigSource: a full SCAN snapshot after every
 * (re)connect, then one re-read per key the change feed reports. A request
 * for a host whose keys were just announced as changed waits for that re-read
 * (pendingFor), which is what makes a write visible to the very next request.
 */
export class RedisSource implements ConfigSource {
  readonly name = 'redis';
  readonly #log = logger('redis');
  readonly #keys: KeySpace;
  readonly #reader: HipacheReader;
  readonly #feed: ChangeFeed;
  readonly #data: WireClient;
  readonly #inflight = new Map<string, Refresh>();
  readonly #dirty = new Set<string>(); // keys changed while a snapshot was being read
  readonly #deadMirror = new Map<string, Map<number, number>>();
  /** Per-request mode only: the frontends as last emitted, so an unchanged re-read emits nothing. */
  #mirror: FrontendSet | null = null;
  #snapshotRead: SnapshotRead | null = null;
  #sink: EventSink = () => {};
  #state: SourceState = 'starting';
  #lastError: SourceStatus['lastError'] = null;
  #lastSnapshotAt: number | null = null;
  #syncing = false;
  #resyncGeneration = 0;
  #resyncTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #responsive = false;
  #stopped = false;
  #firstSnapshot!: () => void;
  readonly #started: Promise<void>;

  constructor(private readonly config: RedisDirectConfig) {
    this.#keys = new KeySpace(config.read.prefix);
    this.#data = connectWire(config.read, this.#log, { name: 'data' });
    this.#reader = new HipacheReader(() => this.#data, this.#keys, this.#log);
    this.#feed = new ChangeFeed(config, this.#keys, this.#log, (key) => this.#onChanged(key), () => this.#scheduleResync(), () => this.#scheduleResync());
    this.#started = new Promise((resolve) => (this.#firstSnapshot = resolve));
  }

  async start(sink: EventSink): Promise<void> {
    this.#sink = sink;
    this.#data.on('ready', () => this.#scheduleResync());
    this.#data.on('reconnecting', () => this.#onDisconnect());
    this.#data.connect().catch((err: Error) => this.#fail('REDIS_CONNECT', err));
    this.#healthTimer = setInterval(() => void this.#checkHealth(), HEALTH_INTERVAL_MS).unref();
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    clearInterval(this.#healthTimer);
    clearTimeout(this.#resyncTimer);
    this.#snapshotRead?.abort();
    await this.#feed.close();
    await this.#data.close();
  }

  status(): SourceStatus {
    return { name: this.name, state: this.#state, mode: this.#feed.mode ?? 'connecting', lastError: this.#lastError, lastSnapshotAt: this.#lastSnapshotAt };
  }

  whenCurrent(host: string, ready: () => void): boolean {
    if (!this.#responsive) return false; // never wait on an unreachable or hung redis
    if (this.#feed.mode === 'per-request') {
      void this.#bounded(this.#readHost(host)).then(ready);
      return true;
    }
    if (this.config.readYourWrites && this.#feed.afterBarrier(() => this.#afterRefreshes(host, ready) || ready())) return true;
    return this.#afterRefreshes(host, ready);
  }

  /** Calls `ready` after the re-reads under way for `host`'s keys; false when there are none. */
  #afterRefreshes(host: string, ready: () => void): boolean {
    const wait = this.#refreshesFor(host);
    if (wait === undefined) return false;
    void wait.then(ready);
    return true;
  }

  /** The re-reads under way for keys that can serve `host`. */
  #refreshesFor(host: string): Promise<void> | undefined {
    if (this.#inflight.size === 0) return undefined;
    const waits: Promise<void>[] = [];
    for (const key of [...this.#keys.candidates(host), this.#keys.dead(host)]) {
      const refresh = this.#inflight.get(key);
      if (refresh !== undefined) waits.push(refresh.done);
    }
    return waits.length === 0 ? undefined : this.#bounded(Promise.all(waits));
  }

  #bounded(work: Promise<unknown>): Promise<void> {
    return withTimeout(work, this.config.syncTimeoutMs, 'read-your-writes wait').then(
      () => undefined,
      (err: Error) => this.#log.warn('serving the last known route', { reason: err.message }),
    );
  }

  #emit(event: ConfigEvent): void {
    this.#sink(event);
  }

  #onDisconnect(): void {
    this.#responsive = false;
    if (this.#state === 'ready') {
      this.#state = 'degraded';
      this.#fail('REDIS_DISCONNECTED', new Error('connection to redis lost; serving the last known table'));
    }
  }

  #fail(code: string, err: Error): void {
    this.#lastError = { code, message: err.message };
    this.#emit({ type: 'source-error', source: this.name, error: this.#lastError });
  }

  async #checkHealth(): Promise<void> {
    if (!this.#data.isReady) return;
    try {
      await withTimeout(this.#data.ping(), HEALTH_INTERVAL_MS, 'PING');
      this.#responsive = true;
    } catch (err) {
      if (this.#responsive) this.#log.warn('redis is not answering; serving the last known table', { error: (err as Error).message });
      this.#responsive = false;
    }
  }

  /** Coalesces reconnect signals from every connection into one resync. */
  #scheduleResync(): void {
    if (this.#stopped) return;
    clearTimeout(this.#resyncTimer);
    this.#resyncTimer = setTimeout(() => void this.#resync(), 10);
  }

  async #resync(): Promise<void> {
    if (!this.#data.isReady || this.#stopped) return;
    const generation = ++this.#resyncGeneration;
    this.#syncing = true;
    this.#dirty.clear();
    try {
      await this.#feed.establish(this.#data);
      const snapshot = await this.#readSnapshot();
      if (generation !== this.#resyncGeneration) return; // a newer resync superseded this one
      const frontends = snapshot.frontends.size; // the set is moved into the table by the event
      this.#applySnapshot(snapshot.frontends, snapshot.dead);
      this.#syncing = false;
      for (const key of this.#dirty) this.#onChanged(key);
      this.#dirty.clear();
      this.#responsive = true;
      if (this.#lastError !== null) this.#emit({ type: 'source-recovered', source: this.name });
      this.#lastError = null;
      this.#state = 'ready';
      this.#log.info('redis snapshot loaded', { frontends, deadHosts: this.#deadMirror.size, mode: this.#feed.mode });
      this.#firstSnapshot();
    } catch (err) {
      if (generation !== this.#resyncGeneration || this.#stopped) return;
      this.#syncing = false;
      this.#log.warn('redis resync failed; retrying', { error: (err as Error).message });
      this.#fail('REDIS_RESYNC', err as Error);
      this.#resyncTimer = setTimeout(() => void this.#resync(), 1000);
    }
  }

  /** One read at a time: a newer resync stops the read of the one it supersedes. */
  async #readSnapshot(): Promise<{ frontends: FrontendSet; dead: DeadMark[] }> {
    this.#snapshotRead?.abort();
    const read = new SnapshotRead(this.config.read, this.#keys, this.#reader, this.#log, SNAPSHOT_IDLE_TIMEOUT_MS);
    this.#snapshotRead = read;
    try {
      return await read.done;
    } finally {
      if (this.#snapshotRead === read) this.#snapshotRead = null;
    }
  }

  #applySnapshot(frontends: FrontendSet, dead: DeadMark[]): void {
    this.#deadMirror.clear();
    this.#mirror = this.#feed.mode === 'per-request' ? frontends.clone() : null;
    for (const mark of dead) this.#mirrorFor(mark.host).set(mark.index, mark.until);
    this.#lastSnapshotAt = Date.now();
    this.#emit({ type: 'snapshot', source: this.name, frontends, dead });
  }

  #mirrorFor(host: string): Map<number, number> {
    let marks = this.#deadMirror.get(host);
    if (marks === undefined) this.#deadMirror.set(host, (marks = new Map()));
    return marks;
  }

  /** A key changed: re-read it now. A burst on one key costs at most MAX_READS_PER_KEY reads in flight. */
  #onChanged(redisKey: string): void {
    const ref = this.#keys.parse(redisKey);
    if (ref === null) return;
    if (this.#syncing) this.#dirty.add(redisKey);
    let refresh = this.#inflight.get(redisKey);
    if (refresh === undefined) {
      let settle!: () => void;
      const done = new Promise<void>((resolve) => (settle = resolve));
      refresh = { inflight: 0, newest: 0, unsent: false, again: false, done, settle };
      this.#inflight.set(redisKey, refresh);
    }
    if (refresh.unsent) return;
    if (refresh.inflight >= MAX_READS_PER_KEY) {
      refresh.again = true;
      return;
    }
    this.#issueRead(redisKey, ref, refresh);
  }

  #issueRead(redisKey: string, ref: KeyRef, refresh: Refresh): void {
    const seq = ++refresh.newest;
    refresh.inflight++;
    refresh.unsent = true;
    // The connection sends what a tick wrote at the end of it (wire.ts), before this runs.
    process.nextTick(() => {
      if (refresh.newest === seq) refresh.unsent = false;
    });
    this.#readKey(ref).then(
      (apply) => {
        if (seq === refresh.newest) apply();
      },
      (err: Error) => this.#log.warn('re-reading a changed key failed', { key: redisKey, error: err.message }),
    ).finally(() => {
      refresh.inflight--;
      if (refresh.again) {
        refresh.again = false;
        return this.#issueRead(redisKey, ref, refresh);
      }
      if (refresh.inflight === 0) {
        this.#inflight.delete(redisKey);
        refresh.settle();
      }
    });
  }

  /** Reads a key; resolves to what applies its value (emitting the events), to be called if still current. */
  async #readKey(ref: KeyRef): Promise<() => void> {
    if (ref.kind === 'frontend') {
      const frontend = await this.#reader.frontend(ref.host);
      return () => this.#emitFrontend(ref.host, frontend);
    }
    const marks = await this.#reader.dead(ref.host);
    return () => this.#emitDead(ref.host, marks);
  }

  #emitFrontend(key: string, frontend: FrontendSpec | null): void {
    if (frontend === null) this.#emit({ type: 'frontend-removed', source: this.name, key });
    else this.#emit({ type: 'frontend-set', source: this.name, frontend });
  }

  /** Emits only what differs from what this source said before about the host's dead set. */
  #emitDead(host: string, marks: DeadMark[]): void {
    const before = this.#deadMirror.get(host) ?? new Map<number, number>();
    const after = new Map(marks.map((m) => [m.index, m.until]));
    for (const mark of marks) {
      const previous = before.get(mark.index);
      // PTTL is read at a slightly different moment each time: ignore sub-second drift.
      if (previous === undefined || Math.abs(previous - mark.until) > 500) this.#emit({ type: 'backend-dead', source: this.name, mark });
    }
    for (const index of before.keys()) {
      if (!after.has(index)) this.#emit({ type: 'backend-alive', source: this.name, host, index });
    }
    if (after.size === 0) this.#deadMirror.delete(host);
    else this.#deadMirror.set(host, after);
  }

  /** Hipache mode: every request re-reads the keys that can serve its host. */
  async #readHost(host: string): Promise<void> {
    const keys = this.#keys.candidates(host).map((k) => this.#keys.parse(k)!.host);
    const [frontends, marks] = await Promise.all([Promise.all(keys.map((k) => this.#reader.frontend(k))), this.#reader.dead(host)]);
    keys.forEach((key, i) => this.#emitFrontendIfChanged(key, frontends[i] ?? null));
    this.#emitDead(host, marks);
  }

  #emitFrontendIfChanged(key: string, frontend: FrontendSpec | null): void {
    const mirror = (this.#mirror ??= new FrontendSet());
    const before = mirror.get(key);
    if (frontend === null ? before === undefined : before !== undefined && sameFrontend(before, frontend)) return;
    if (frontend === null) mirror.delete(key);
    else mirror.set(frontend);
    this.#emitFrontend(key, frontend);
  }
}

function sameFrontend(a: FrontendSpec, b: FrontendSpec): boolean {
  return a.id === b.id && a.backends.length === b.backends.length && a.backends.every((url, i) => url === b.backends[i]);
}
