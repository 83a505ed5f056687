import type { RedisDirectConfig, RedisEndpoint } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { ConfigEvent, DeadMark, FrontendSpec } from '../../src/vocabulary/events.js';
import type { ConfigSource, EventSink, SourceState, SourceStatus } from '../../src/vocabulary/source.js';
import { DeferredChecks } from './deferred-checks.js';
import { EmittedCertificates, SNAPSHOT_CHECKS, type StoredCertificate } from './emitted-certificates.js';
import { EmittedDeadMarks } from './emitted-dead.js';
import { EmittedFrontends } from './emitted-frontends.js';
import { FrontendExpiries } from './expiries.js';
import { ChangeFeed } from './feed.js';
import { HeldOptions, type StoredOptions } from './held-options.js';
import { certificateNames, deadNames, frontendNames, KeySpace, type KeyRef } from './keys.js';
import { Liveness } from './liveness.js';
import { ReadYourWrites } from './read-your-writes.js';
import { HipacheReader } from './reader.js';
import { KeyRereads } from './rereads.js';
import { Resync } from './resync.js';
import { SnapshotRead, type Snapshot } from './snapshot.js';
import { DatasetTripwire } from './tripwire.js';
import { connectWire, withTimeout, type Reply, type WireClient } from './wire.js';

const HEALTH_INTERVAL_MS = 1000;
/** A snapshot read that receives nothing for this long fails (and is retried). */
const SNAPSHOT_IDLE_TIMEOUT_MS = 10_000;
/** How long writing the marker key to a master read through a replica may take. */
const MARKER_WRITE_TIMEOUT_MS = 2000;

/**
 * Hipache's Redis keys, and the `tls:` certificates (SPEC §7), as a
 * ConfigSource. It coordinates its parts: a full snapshot after every
 * (re)connect (Resync), then one re-read per key the change feed reports
 * (KeyRereads), emitting only what differs from what it said before
 * (EmittedFrontends, EmittedDeadMarks, EmittedCertificates, which also keeps
 * bad certificates out). A request, or a TLS handshake, for a host whose keys
 * were just announced as changed waits for those re-reads (ReadYourWrites),
 * which makes a write visible to the very next one; in per-request mode (no
 * feed) each reads its host's keys instead.
 * A database replaced as a whole (DatasetTripwire) calls for a resync, which
 * the requests after it wait for like a re-read.
 */
export class RedisSource implements ConfigSource {
  readonly name = 'redis';
  readonly #log = logger('redis');
  readonly #keys: KeySpace;
  readonly #data: WireClient;
  readonly #reader: HipacheReader;
  readonly #feed: ChangeFeed;
  readonly #rereads: KeyRereads;
  readonly #resync: Resync;
  readonly #liveness: Liveness;
  readonly #barrier: ReadYourWrites;
  readonly #expiries: FrontendExpiries;
  readonly #frontends = new EmittedFrontends(this.name);
  readonly #dead = new EmittedDeadMarks(this.name);
  readonly #certificates: EmittedCertificates;
  readonly #options: HeldOptions;
  readonly #deferredChecks: DeferredChecks;
  #sink: EventSink = () => {};
  #state: SourceState = 'starting';
  #lastError: SourceStatus['lastError'] = null;
  #lastSnapshotAt: number | null = null;
  /** The database was replaced after resync `after` read it: requests wait (bounded) for the resync after. */
  #replaced: { after: number; wait: Promise<void> } | null = null;
  #firstSnapshot!: () => void;
  readonly #started: Promise<void>;

  constructor(private readonly config: RedisDirectConfig) {
    this.#keys = new KeySpace(config.read.prefix);
    this.#certificates = new EmittedCertificates(this.name, (name) => this.#keys.tls(name), this.#log);
    this.#options = new HeldOptions((key) => this.#keys.options(key), this.#log);
    this.#deferredChecks = new DeferredChecks(
      () => this.#certificates.unchecked(),
      (name) => this.checkCertificate(name),
      () => this.#log.info('deferred certificate checks done', { certificates: this.#certificates.size }),
    );
    this.#data = connectWire(config.read, this.#log, { name: 'data' });
    this.#reader = new HipacheReader(() => this.#data, this.#keys, this.#log);
    const tripwire = new DatasetTripwire(this.#keys, (args) => this.#writeMarker(args), (armedBy) => this.#onReplaced(armedBy), this.#log);
    const lostTrack = () => this.#onReplaced(this.#resync.generation);
    this.#feed = new ChangeFeed(config, this.#keys, tripwire, this.#log, (key) => this.#onChanged(key), lostTrack, () => this.#resync.schedule());
    this.#rereads = new KeyRereads(
      (redisKey) => this.#readKey(this.#keys.parse(redisKey)!),
      (redisKey, err) => this.#log.warn('re-reading a changed key failed', { key: redisKey, error: err.message }),
    );
    this.#resync = new Resync({
      ready: () => this.#data.isReady,
      follow: async (generation) => {
        await this.#feed.establish(this.#data, generation);
        await this.#data.ping(); // re-reads sent before are answered before the snapshot is read
      },
      read: () => {
        const budget = { checks: SNAPSHOT_CHECKS };
        const judge = (name: string, stored: StoredCertificate) => this.#certificates.judge(name, stored, Date.now(), budget);
        return new SnapshotRead(this.config.read, this.#keys, this.#reader, this.#log, SNAPSHOT_IDLE_TIMEOUT_MS, judge);
      },
      apply: (snapshot, changed) => this.#applySnapshot(snapshot, changed),
      failed: (err) => {
        this.#log.warn('redis resync failed; retrying', { error: err.message });
        this.#fail('REDIS_RESYNC', err);
      },
    });
    this.#liveness = new Liveness(this.#data, HEALTH_INTERVAL_MS, this.#log);
    this.#expiries = new FrontendExpiries((redisKey) => this.#rereads.changed(redisKey));
    const pending = { replaced: () => this.#replaced?.wait, expiries: this.#expiries };
    this.#barrier = new ReadYourWrites(this.#feed, this.#rereads, this.#keys, pending, config, this.#log);
    this.#started = new Promise((resolve) => (this.#firstSnapshot = resolve));
  }

  async start(sink: EventSink): Promise<void> {
    this.#sink = sink;
    this.#data.on('ready', () => this.#resync.schedule());
    this.#data.on('reconnecting', () => this.#onDisconnect());
    this.#data.connect().catch((err: Error) => this.#fail('REDIS_CONNECT', err));
    this.#liveness.start();
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#deferredChecks.stop();
    this.#liveness.stop();
    this.#expiries.stop();
    this.#resync.stop();
    await this.#feed.close();
    await this.#data.close();
  }

  status(): SourceStatus {
    return {
      name: this.name,
      state: this.#state,
      mode: this.#feed.mode ?? 'connecting',
      lastError: this.#lastError,
      lastSnapshotAt: this.#lastSnapshotAt,
      version: this.#frontends.version,
      quarantined: this.#options.quarantined,
      quarantinedCertificates: this.#certificates.quarantined,
    };
  }

  whenCurrent(host: string, ready: () => void, path = ''): boolean {
    if (!this.#liveness.responsive) return false; // never wait on an unreachable or hung redis
    if (this.#feed.mode !== 'per-request') return this.#barrier.whenCurrent(host, ready, path);
    void this.#barrier.bounded(this.#readHost(host, path)).then(ready);
    return true;
  }

  checkCertificate(key: string): void {
    this.#emit(this.#certificates.checkNow(key));
  }

  #emit(event: ConfigEvent | null): void {
    if (event !== null && this.#state !== 'stopped') this.#sink(event);
  }

  #onDisconnect(): void {
    this.#liveness.set(false);
    if (this.#state === 'ready') {
      this.#state = 'degraded';
      this.#fail('REDIS_DISCONNECTED', new Error('connection to redis lost; serving the last known table'));
    }
  }

  #fail(code: string, err: Error): void {
    this.#lastError = { code, message: err.message };
    this.#emit({ type: 'source-error', source: this.name, error: this.#lastError });
  }

  #applySnapshot({ frontends, dead, expiring, certificates, options }: Snapshot, changedMeanwhile: readonly string[]): void {
    const count = frontends.size; // the set is moved into the table by the event
    this.#options.replaceAll(options);
    this.#options.composeAll(frontends);
    this.#dead.replaceAll(dead);
    this.#expiries.replaceAll(expiring);
    this.#lastSnapshotAt = Date.now();
    this.#emit(this.#frontends.snapshot(frontends, dead, this.#certificates.snapshot(certificates)));
    for (const key of changedMeanwhile) this.#rereads.changed(key);
    this.#liveness.set(true);
    if (this.#lastError !== null) this.#emit({ type: 'source-recovered', source: this.name });
    this.#lastError = null;
    this.#state = 'ready';
    const unchecked = [...this.#certificates.unchecked()].length;
    this.#log.info('redis snapshot loaded', {
      frontends: count,
      deadHosts: this.#dead.hosts,
      certificates: this.#certificates.size,
      ...(this.#options.size > 0 ? { options: this.#options.size } : {}),
      ...(unchecked > 0 ? { uncheckedCertificates: unchecked } : {}),
      mode: this.#feed.mode,
      version: this.#frontends.version,
    });
    if (unchecked > 0) this.#deferredChecks.schedule();
    this.#firstSnapshot();
  }

  /** A key changed: re-read it (KeyRereads), and again after a snapshot being read (it may predate the change). */
  #onChanged(redisKey: string): void {
    if (this.#keys.parse(redisKey) === null) return;
    this.#resync.noteChange(redisKey);
    this.#rereads.changed(redisKey);
  }

  /**
   * The database was flushed, swapped or fully resynced after resync `after`
   * started following it: everything it read may be gone. The requests from
   * now on wait for the resync after it, all together for at most
   * syncTimeoutMs (then they are served from the last table until it lands).
   */
  #onReplaced(after: number): void {
    if (this.#replaced !== null && this.#replaced.after >= after) return;
    this.#log.info('the redis database was replaced as a whole (FLUSHDB, FLUSHALL, SWAPDB or a full resync): reading every key again');
    const replaced = { after, wait: Promise.resolve() };
    const resynced = this.#resync.after(after).then(() => {
      if (this.#replaced === replaced) this.#replaced = null;
    });
    replaced.wait = this.#barrier.bounded(resynced);
    this.#replaced = replaced;
  }

  /** The marker key is written to the master: through the data connection when that is it, else on a connection of its own. */
  async #writeMarker(args: string[]): Promise<Reply> {
    if (sameDatabase(this.config.read, this.config.write)) return this.#data.send(args);
    const writer = connectWire(this.config.write, this.#log, { name: 'marker' });
    try {
      await withTimeout(writer.connect(), MARKER_WRITE_TIMEOUT_MS, 'connecting to the redis master');
      return await writer.send(args);
    } finally {
      writer.destroy();
    }
  }

  /** Reads a key; resolves to what emits its value, to be called if the read is still the newest. */
  async #readKey(ref: KeyRef): Promise<() => void> {
    if (ref.kind === 'frontend') {
      const { frontend, until } = await this.#reader.frontendAndDeadline(ref.host);
      return () => {
        this.#emitFrontend(ref.host, frontend);
        this.#expiries.set(this.#keys.frontend(ref.host), until);
      };
    }
    if (ref.kind === 'tls') {
      const { stored, until } = await this.#reader.certificateAndDeadline(ref.host);
      return () => {
        this.#emit(this.#certificates.change(ref.host, stored));
        this.#expiries.set(this.#keys.tls(ref.host), until);
      };
    }
    if (ref.kind === 'options') {
      const { stored, until } = await this.#reader.optionsAndDeadline(ref.host);
      return () => {
        this.#changeOptions(ref.host, stored);
        this.#expiries.set(this.#keys.options(ref.host), until);
      };
    }
    const marks = await this.#reader.dead(ref.host);
    return () => this.#emitDead(ref.host, marks);
  }

  /** A list as read (null: none) becomes the frontend served, with its options. */
  #emitFrontend(key: string, list: FrontendSpec | null): void {
    if (list === null) this.#options.forget(key);
    this.#emit(this.#frontends.change(key, list === null ? null : this.#options.compose(list)));
  }

  /** `options:<key>` as read: when the options served change, its frontend, and a host level's path frontends, are emitted again with them. */
  #changeOptions(key: string, stored: StoredOptions): void {
    if (!this.#options.change(key, stored)) return;
    for (const spec of this.#options.recomposed(key, this.#frontends)) this.#emit(this.#frontends.change(spec.key, spec));
  }

  #emitDead(host: string, marks: DeadMark[]): void {
    for (const event of this.#dead.change(host, marks)) this.#emit(event);
  }

  /**
   * Hipache mode: a request (or a TLS handshake) re-reads the keys that can
   * serve its host, its certificate's too: a GET or two more in the same
   * round trip, answering nil for a host that has none, and the options
   * hash of each frontend key it reads (HGETALL). With a request's
   * path, the path frontends and dead sets it can match are read too: for
   * each host level, one key per prefix of the path (at most
   * MAX_PREFIX_SEGMENTS), all in the same round trip.
   */
  async #readHost(host: string, path: string): Promise<void> {
    const keys = frontendNames(host, path);
    const deadSets = deadNames(host, path);
    const names = certificateNames(host);
    const [frontends, options, marks, certificates] = await Promise.all([
      Promise.all(keys.map((k) => this.#reader.frontend(k))),
      Promise.all(keys.map((k) => this.#reader.options(k))),
      Promise.all(deadSets.map((name) => this.#reader.dead(name))),
      Promise.all(names.map((name) => this.#reader.certificate(name))),
    ]);
    keys.forEach((key, i) => this.#changeOptions(key, options[i]!));
    keys.forEach((key, i) => this.#emitFrontend(key, frontends[i] ?? null));
    deadSets.forEach((name, i) => this.#emitDead(name, marks[i]!));
    names.forEach((name, i) => this.#emit(this.#certificates.change(name, certificates[i]!)));
  }
}

function sameDatabase(a: RedisEndpoint, b: RedisEndpoint): boolean {
  return a.host === b.host && a.port === b.port && a.db === b.db;
}
