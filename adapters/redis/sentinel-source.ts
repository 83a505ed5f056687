import type { RedisEndpoint, RedisSentinelConfig } from '../../src/config/types.js';
import type { ConfigEvent } from '../../src/vocabulary/events.js';
import type { ConfigSource, EventSink, SourceStatus } from '../../src/vocabulary/source.js';
import type { SentinelWatcher } from './sentinel.js';
import { RedisSource } from './source.js';

/** While the master is unknown or unreachable, the sentinels are asked this often. */
const URGENT_RECHECK_MS = 1000;

/**
 * The Redis source when Sentinel names the master: one RedisSource per master.
 * On a failover a fresh RedisSource for the new master starts with the same
 * sink and the old one stops, so every connection (data, change feed) moves
 * at once; the new one's first snapshot replaces all the old one said (the
 * snapshot is the truth) and, until it arrives, requests are served from the
 * last known table. Events from a replaced source are dropped: a late re-read
 * from the old master must not overwrite what the new master holds.
 */
export class SentinelSource implements ConfigSource {
  readonly name = 'redis';
  #current: RedisSource | null = null;
  #sink: EventSink = () => {};
  /** A source-error went to the sink and no source-recovered since. */
  #erred = false;
  #urgent: NodeJS.Timeout | undefined;
  #stopped = false;
  #firstSnapshot!: () => void;
  readonly #started: Promise<void>;

  constructor(
    private readonly config: RedisSentinelConfig,
    private readonly watcher: SentinelWatcher,
  ) {
    this.#started = new Promise((resolve) => (this.#firstSnapshot = resolve));
  }

  start(sink: EventSink): Promise<void> {
    this.#sink = sink;
    this.watcher.onChange((master) => this.#follow(master));
    this.watcher.start();
    this.#urgent = setInterval(() => {
      if (this.#current?.status().state !== 'ready') this.watcher.recheck();
    }, URGENT_RECHECK_MS).unref();
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#urgent);
    await this.watcher.stop();
    await this.#current?.stop();
  }

  status(): SourceStatus {
    if (this.#current !== null) return this.#current.status();
    const waiting = `waiting for a sentinel to name the master "${this.config.sentinel.name}"`;
    const message = this.watcher.problem === '' ? waiting : `${waiting}: ${this.watcher.problem}`;
    return { name: this.name, state: this.#stopped ? 'stopped' : 'starting', mode: 'sentinel', lastError: { code: 'REDIS_SENTINEL', message }, lastSnapshotAt: null };
  }

  whenCurrent(host: string, ready: () => void, path?: string): boolean {
    return this.#current?.whenCurrent(host, ready, path) ?? false;
  }

  checkCertificate(key: string): void {
    this.#current?.checkCertificate(key);
  }

  #follow(master: RedisEndpoint): void {
    if (this.#stopped) return;
    const previous = this.#current;
    const { tracking, syncTimeoutMs, readYourWrites } = this.config;
    const next = new RedisSource({ tracking, syncTimeoutMs, readYourWrites, read: master, write: master });
    this.#current = next;
    // Not awaited: closing connections to a dead master must not delay following the new one.
    void previous?.stop().catch(() => {});
    void next.start((event) => this.#relay(next, event));
  }

  #relay(from: RedisSource, event: ConfigEvent): void {
    if (from !== this.#current || this.#stopped) return;
    if (event.type === 'source-error') {
      this.#erred = true;
      this.watcher.recheck(); // a lost connection may mean a failover: ask at once
    } else if (event.type === 'source-recovered') {
      if (!this.#erred) return; // already said after the new master's snapshot
      this.#erred = false;
    }
    this.#sink(event);
    if (event.type !== 'snapshot') return;
    this.#firstSnapshot();
    // A new master's source never failed itself; the failure it recovers from was its predecessor's.
    if (this.#erred) {
      this.#erred = false;
      this.#sink({ type: 'source-recovered', source: this.name });
    }
  }
}
