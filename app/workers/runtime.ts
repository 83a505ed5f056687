import { randomBytes, X509Certificate } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync } from 'node:fs';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import { AccessLog } from '../../src/proxy/access-log.js';
import { ErrorPages } from '../../src/proxy/error-pages.js';
import { PassiveHealth } from '../../src/proxy/health.js';
import { LimitCounters } from '../../src/proxy/limits.js';
import { BackendLoad } from '../../src/proxy/backend-load.js';
import { BackendPools } from '../../src/proxy/pools.js';
import { drain, frontStats, listen, ListenError, setTicketKeys, type Listener } from '../../src/proxy/server.js';
import type { ProxyContext } from '../../src/proxy/settings.js';
import { OcspStapler } from '../../src/proxy/tls/ocsp-stapler.js';
import { RoutingTable } from '../../src/routing/table.js';
import type { DeadMarkPublisher } from '../../src/vocabulary/dead-marks.js';
import { MergedSources } from '../../src/sources/merged.js';
import { HostLabels, TrafficCounters } from '../../src/proxy/traffic.js';
import type { ConfigSource } from '../../src/vocabulary/source.js';
import type { AdminState } from '../admin/answers.js';
import { describeCertificateFile, describeTableCertificates, type CertificateInfo } from '../admin/certificates.js';
import type { WorkerMetrics } from '../metrics/worker.js';
import { ChallengeBook } from '../acme/challenges.js';
import type { MasterReport } from './messages.js';

const log = logger('runtime');
/** Set by the master (master.ts): the instance's TLS session ticket key, base64. */
const TICKET_KEYS_ENV = 'SWITCHYARD_TLS_TICKET_KEYS';

/** The master's ticket key, or a key of this process's own when it runs without a master. */
function ticketKeys(): Buffer {
  const given = process.env[TICKET_KEYS_ENV];
  delete process.env[TICKET_KEYS_ENV];
  const key = given === undefined ? null : Buffer.from(given, 'base64');
  return key !== null && key.length === 48 ? key : randomBytes(48);
}
/** Longest a starting worker waits for its sources' first snapshot before listening anyway. */
const FIRST_SNAPSHOT_WAIT_MS = 3000;

/** One serving process: sources feeding a table, and the listeners reading it. */
export class ProxyRuntime {
  readonly table: RoutingTable;
  /** Each configured source, for the status API. */
  readonly sources: ConfigSource[] = [];
  /** What the table is fed from: the one source, or all of them merged. */
  readonly #source: ConfigSource;
  #listeners: Listener[] = [];
  /** The listen() under way, if any: a drain waits for it, so that what it binds (and accepts) is drained too. */
  #listening: Promise<unknown> | null = null;
  #draining = false;
  #publisher: DeadMarkPublisher | null = null;
  #accessLog: AccessLog | null = null;
  #pools: BackendPools;
  #sweep: NodeJS.Timeout | undefined;
  /** Made at the first scrape: a worker of an instance nobody scrapes never loads prom-client. */
  #metrics: Promise<WorkerMetrics> | null = null;
  /** Shown by the admin API, so an operator knows which worker answered. */
  workerName = String(process.pid);
  /** The ACME challenges the master tells this worker of (https.acme); null without ACME. */
  readonly challenges: ChallengeBook | null;
  /** What the listeners loaded, for the admin status. */
  #certificates: CertificateInfo[] = [];
  /** The default certificate's (https.cert), read at start: its OCSP response is kept like the table's. */
  #defaultFingerprint: string | null = null;
  /** The master's word on this worker's generation and the last reload, for the admin status. */
  report: MasterReport | null = null;
  /** The instance's session ticket key: the master's at the fork, then each rotation it sends. */
  #ticketKeys = ticketKeys();
  readonly #context: ProxyContext;

  /**
   * Builds the runtime with the adapters the config asks for. They are
   * imported only when configured: a worker without a vhosts file never
   * loads the YAML and JSON Schema code, one without Redis no Redis client
   * (and one without Sentinel or the admin API not their modules either).
   */
  static async create(config: SwitchyardConfig): Promise<ProxyRuntime> {
    const sources: ConfigSource[] = [];
    let publisher: DeadMarkPublisher | null = null;
    if (config.redis !== null) {
      const { redisAdapters } = await import('../../adapters/redis/index.js');
      const redis = await redisAdapters(config.redis, config.server.deadBackendTTL);
      sources.push(redis.source);
      publisher = redis.publisher;
    }
    if (config.file !== null) {
      const { FileSource } = await import('../../adapters/file/index.js');
      sources.push(new FileSource(config.file));
    }
    if (config.https?.certDir != null) {
      const { CertDirSource } = await import('../../adapters/file/index.js');
      sources.push(new CertDirSource({ path: config.https.certDir }));
    }
    const acme = config.https?.acme ?? null;
    let challenges: ChallengeBook | null = null;
    if (acme !== null && config.redis?.write !== undefined) {
      // Ordered certificates come as tls: keys, read by the Redis source; other instances' challenges from Redis.
      const { RedisAcmeStore } = await import('../acme/redis-store.js');
      challenges = new ChallengeBook(new RedisAcmeStore(config.redis.write));
    } else if (acme !== null) {
      // Without Redis the master writes ordered certificates to a directory, served as the `acme` source.
      const [{ CertDirSource }, { certificatesDir, workersOwner, STORAGE_MODE }] = await Promise.all([import('../../adapters/file/index.js'), import('../acme/file-store.js')]);
      const dir = certificatesDir(acme.storage);
      mkdirSync(acme.storage, { recursive: true, mode: STORAGE_MODE });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // A worker started as root reads it as `user` once it dropped privileges (worker.ts).
      const owner = workersOwner(config.user);
      if (owner !== null) chownSync(dir, owner.uid, owner.gid);
      sources.push(new CertDirSource({ path: dir, name: 'acme' }));
      challenges = new ChallengeBook(null);
    }
    return new ProxyRuntime(config, sources, publisher, challenges);
  }

  private constructor(
    private readonly config: SwitchyardConfig,
    sources: ConfigSource[],
    publisher: DeadMarkPublisher | null,
    challenges: ChallengeBook | null,
  ) {
    this.challenges = challenges;
    // A certificate a host names itself (vhosts `tls:`, a `tls:` key) wins over a certDir file covering the same name.
    this.table = new RoutingTable({ precedence: config.precedence === 'file' ? ['file', 'redis', 'certdir', 'acme', 'proxy'] : ['redis', 'file', 'certdir', 'acme', 'proxy'] });
    const server = config.server;
    this.sources.push(...sources);
    this.#source = sources.length === 1 ? sources[0]! : new MergedSources(sources);
    this.#publisher = publisher;
    if (server.accessLog !== null) this.#accessLog = new AccessLog(server.accessLog, server.accessLogFormat);
    const limits = new LimitCounters();
    const clientStall = { ms: server.idleTimeout * 1000, counters: limits };
    this.#pools = new BackendPools({ maxSockets: server.maxSockets, tcpTimeoutMs: server.tcpTimeout * 1000, clientStall });
    this.#context = {
      settings: {
        tcpTimeoutMs: server.tcpTimeout * 1000,
        retryOnError: server.retryOnError,
        deadBackendOn500: server.deadBackendOn500,
        deadBackendTTL: server.deadBackendTTL,
        keepAlive: server.httpKeepAlive,
        websocketIdleMs: (server.websocketIdleTimeout ?? 0) * 1000,
        idleTimeoutMs: server.idleTimeout * 1000,
        httpsPort: config.https?.port ?? 443,
      },
      table: this.table,
      whenCurrent: this.#whenCurrent(),
      checkCertificate: ({ source, certificate }) => this.sources.find((s) => s.name === source)?.checkCertificate?.(certificate.key),
      health: new PassiveHealth(this.table, server, (report) => publisher?.publish(report)),
      pools: this.#pools,
      load: new BackendLoad(),
      errorPages: new ErrorPages(server.staticDir),
      accessLog: this.#accessLog,
      limits,
      traffic: new TrafficCounters(),
      hostLabels: config.metrics.hosts.length > 0 ? new HostLabels(config.metrics.hosts) : null,
      ocsp: config.https !== null ? new OcspStapler({ inForce: () => this.#fingerprintsInForce() }) : null,
      challenges,
    };
  }

  /** The certificates the TLS listener serves now: the default, and the table's. */
  *#fingerprintsInForce(): Generator<string> {
    if (this.#defaultFingerprint !== null) yield this.#defaultFingerprint;
    for (const { certificate } of this.table.certificates.all()) if (certificate.checked) yield certificate.fingerprint;
  }

  /** The read-your-writes barrier of the source (one per request: a single source's own, without a wrapper). */
  #whenCurrent(): ProxyContext['whenCurrent'] {
    const source = this.#source;
    return source.whenCurrent === undefined ? () => false : source.whenCurrent.bind(source);
  }

  /**
   * Start the sources, then listen once they delivered their first snapshot.
   * A worker accepting connections with an empty table would answer 503 while
   * its siblings (when it replaces a dead worker, or is a reload's new
   * generation) could serve them. The wait is bounded: with a source that is
   * down, requests get their 503 (no table yet) instead of refused connections.
   */
  async start(): Promise<Listener[]> {
    const firstSnapshots = this.#source
      .start((event) => this.table.apply(event))
      .catch((err: Error) => log.error('config source failed to start', { source: this.#source.name, error: err.message }));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_SNAPSHOT_WAIT_MS)));
    await Promise.race([firstSnapshots, bound]);
    clearTimeout(timer);
    if (this.#draining) return []; // told to stop while it waited: nothing is bound
    this.#listening = listen(this.config, this.#context, { ticketKeys: this.#ticketKeys }).then(
      (listeners) => (this.#listeners = listeners),
      (err: unknown) => {
        // What did bind is drained with the rest when the worker exits on the error.
        if (err instanceof ListenError) this.#listeners = err.bound;
        throw err;
      },
    );
    await this.#listening;
    this.#sweep = setInterval(() => this.table.sweepDead(), 10_000).unref();
    if (this.config.https !== null) {
      this.#certificates = [describeCertificateFile('config', this.config.https.cert)];
      try {
        this.#defaultFingerprint = new X509Certificate(readFileSync(this.config.https.cert)).fingerprint256;
      } catch {
        // listen() read it: it is there; describeCertificateFile says why when not.
      }
    }
    return this.#listeners;
  }

  /** What the admin queries the master relays read (app/admin/answers.ts). */
  adminState(): AdminState {
    return {
      table: this.table,
      sources: this.sources,
      worker: this.workerName,
      master: () => this.report,
      precedence: this.config.precedence,
      front: () => frontStats(this.#listeners),
      limits: () => ({ maxConnections: this.config.server.maxConnections, ...this.#context.limits }),
      metrics: async () => (await this.#workerMetrics()).json(),
      traffic: () => this.#context.traffic.summary(),
      certificates: () => {
        const stapling = this.#context.ocsp?.info.bind(this.#context.ocsp) ?? null;
        const own = this.#certificates.map((c) => (stapling === null || this.#defaultFingerprint === null ? c : { ...c, ocsp: stapling(this.#defaultFingerprint) }));
        return [...own, ...describeTableCertificates(this.table.certificates, stapling)];
      },
      certificateCounts: () => this.#certificateCounts(),
    };
  }

  /** Certificates served, by source: https.cert as `config`, then the sources' (SPEC §8 tls_certificates). */
  #certificateCounts(): Record<string, number> {
    if (this.config.https === null) return {};
    return { config: 1, ...Object.fromEntries(this.table.certificates.countBySource()) };
  }

  #workerMetrics(): Promise<WorkerMetrics> {
    this.#metrics ??= import('../metrics/worker.js').then(
      ({ WorkerMetrics }) =>
        new WorkerMetrics(
          {
            traffic: this.#context.traffic,
            table: this.table,
            sources: this.sources,
            certificates: () => this.#certificateCounts(),
            ...(this.#context.ocsp !== null ? { ocsp: () => this.#context.ocsp! } : {}),
          },
          this.workerName,
        ),
    );
    return this.#metrics;
  }

  /** The metrics as they stand, if anyone scraped them (a draining worker's last word); null otherwise. */
  async finalMetrics(): Promise<unknown[] | null> {
    return this.#metrics === null ? null : (await this.#metrics).json();
  }

  /** The master rotated the ticket key (or repeats it): handshakes from now on use it; before listening, the listeners start with it. */
  setTicketKeys(keys: Buffer): void {
    if (keys.length !== 48 || keys.equals(this.#ticketKeys)) return;
    this.#ticketKeys = keys;
    setTicketKeys(this.#listeners, keys);
  }

  /** SIGUSR1: the access log file was moved away (logrotate); write a new one at its path. */
  reopenLogs(): void {
    this.#accessLog?.reopen();
  }

  async drain(): Promise<void> {
    this.#draining = true;
    // A SIGTERM (a reload rolled back) can come while listen() binds its addresses one by one: those
    // bound already accept connections, which must be answered, not reset when the process exits.
    await this.#listening?.catch(() => undefined);
    await drain(this.#listeners);
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweep);
    this.#context.ocsp?.stop();
    await this.#source.stop();
    await this.#publisher?.close();
    await this.#accessLog?.close();
    await this.#pools.close();
    await this.challenges?.close();
  }
}
