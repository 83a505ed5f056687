import cluster, { type Worker } from 'node:cluster';
import { loadConfigFile } from '../../src/config/load.js';
import type { AdminConfig, SwitchyardConfig } from '../../src/config/types.js';
import { logger, setLogFormat, setLogProcess } from '../../src/log.js';
import { assertNever } from '../../src/vocabulary/events.js';
import type { InstanceAcme } from '../acme/instance.js';
import type { AcmeHosts } from '../acme/hosts.js';
import type { InstanceHealth } from '../health/instance.js';
import type { TargetsAnswer } from '../health/targets.js';
import type { AdminListener, Instance } from '../admin/server.js';
import { InstanceMetrics } from '../metrics/instance.js';
import { InstanceTicketKeys } from '../tickets/instance.js';
import { Generation } from './generation.js';
import { isWorkerMessage, type MasterMessage, type ReloadOutcome, type WorkerMessage } from './messages.js';
import { WorkerQueries } from './queries.js';

const log = logger('master');
/** Read by cli/main.ts in the worker. */
const CONFIG_ENV = 'SWITCHYARD_WORKER_CONFIG';
/** Read by runtime.ts in the worker. */
const TICKET_KEYS_ENV = 'SWITCHYARD_TLS_TICKET_KEYS';
const RESTART_WINDOW_MS = 10_000;
const RESTART_BURST = 10;

/**
 * V8 flags of the workers (the master serves no traffic and keeps node's
 * defaults). A young generation of 2 x 8 MiB instead of 2 x 16 MiB: it grows
 * to its maximum under load and V8 returns it only after several idle
 * seconds. Measured: 16 MiB less RSS after load, for 0.25 us more scavenging
 * per request (docs/performance.md, "Idle memory"). A value the operator
 * gives (node's command line or NODE_OPTIONS) wins.
 */
const WORKER_V8_FLAGS = ['--max-semi-space-size=8'];

/** The execArgv a worker is forked with: the master's own, after the worker defaults the operator did not set. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) => arg.replace(/_/g, '-'));
  const defaults = WORKER_V8_FLAGS.filter((flag) => !given.some((arg) => arg.startsWith(flag.slice(0, flag.indexOf('=')))));
  return [...defaults, ...execArgv];
}

/** A reload's new generation, serving beside the running one until `server.reloadTimeout` has passed. */
interface Probation {
  generation: Generation;
  timer: NodeJS.Timeout;
}

/**
 * The master: keeps the serving generation of workers at `server.workers`,
 * replacing a dead or over-memory worker at once; on SIGHUP starts a new
 * generation beside it and swaps only once that one has listened and lived
 * `server.reloadTimeout` seconds, else stops it and keeps the running one
 * (Caddy's "start the new before releasing the old"); drains everything on
 * SIGTERM/SIGINT.
 */
export class Master {
  #serving: Generation;
  #probation: Probation | null = null;
  /** Workers told to drain (retired, over memory, of a rolled-back reload): their exit is expected. */
  #retiring = new Set<Worker>();
  /** The error a worker said it exits on (a port taken...), for the log line and the rollback. */
  #causes = new Map<Worker, string>();
  #crashes: number[] = [];
  #lastReload: ReloadOutcome | null = null;
  #lastGeneration = 1;
  #stopping = false;
  readonly #startedAt = new Date().toISOString();
  readonly #queries = new WorkerQueries();
  readonly #metrics = new InstanceMetrics(() => this.#serving.listeningWorkers().length);
  /**
   * The TLS session ticket key every worker of this instance shares (and,
   * with Redis, every instance on it): a client resumes its session on
   * whichever worker accepts its next connection. Kept across reloads,
   * replaced every https.ticketKeyRotation.
   */
  readonly #ticketKeys: InstanceTicketKeys;
  /** The instance's ACME orderer (https.acme): in the master, see app/acme/orderer.ts for why. */
  #acme: InstanceAcme | null = null;
  /** The instance's health-check prober (SPEC §9): in the master, one per instance, beside the ACME orderer. */
  #health: InstanceHealth | null = null;
  #healthStarting: Promise<void> | null = null;
  /** The admin listener and the config it runs with. */
  #admin: { listener: AdminListener; config: AdminConfig } | null = null;

  constructor(config: SwitchyardConfig) {
    this.#serving = new Generation(1, config);
    this.#metrics.unhealthyBackends = () => this.#health?.unhealthy() ?? 0;
    this.#ticketKeys = new InstanceTicketKeys(config, () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined));
  }

  /** What the admin listener asks of the instance. */
  readonly #instance: Instance = {
    serving: () => this.#serving.listeningWorkers().sort((a, b) => a.id - b.id),
    queries: this.#queries,
    metrics: this.#metrics,
    precedence: () => this.#serving.config.precedence,
    acme: () => this.#acme?.status() ?? null,
    health: () => this.#health?.status() ?? null,
    summary: () => ({
      pid: process.pid,
      startedAt: this.#startedAt,
      generation: this.#serving.id,
      probation: this.#probation?.generation.id ?? null,
      reload: this.#lastReload,
      workers: this.#serving.config.server.workers,
      draining: this.#stopping,
    }),
  };

  /** The admin listener follows the serving generation's config (a reload may move or add it). */
  async #serveAdmin(config: AdminConfig | null): Promise<void> {
    const current = this.#admin;
    if (JSON.stringify(current?.config ?? null) === JSON.stringify(config)) return;
    this.#admin = null;
    if (current !== null) await current.listener.close();
    if (config === null) return;
    const { startAdmin } = await import('../admin/server.js');
    try {
      this.#admin = { listener: await startAdmin(config, this.#instance), config };
      log.info('admin API listening', { on: `http://${config.bind}:${config.port}` });
    } catch (err) {
      // The proxy serves on without it: its traffic matters more than its dashboard.
      log.error('admin API could not listen; serving without it', { port: config.port, error: (err as Error).message });
    }
  }

  start(): void {
    // First: until a listener is set, SIGUSR1 would start Node's inspector.
    process.on('SIGUSR1', () => this.reopenLogs());
    setLogProcess('master');
    setLogFormat(this.#serving.config.server.logFormat);
    // Workers accept connections themselves: no per-connection hop through the master.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    cluster.on('message', (worker, message) => isWorkerMessage(message) && this.#onMessage(worker, message));
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('SIGINT', () => void this.stop('SIGINT'));
    process.on('SIGHUP', () => this.reload());
    // The first workers start with the shared ticket key when Redis gives it in time.
    void this.#ticketKeys
      .start(this.#serving.config)
      .catch((err: Error) => log.error('TLS ticket key rotation could not start; the first key stays', { error: err.message }))
      .then(() => this.#forkFirst());
    void this.#serveAdmin(this.#serving.config.admin);
    void this.#serveAcme(this.#serving.config);
    void this.#serveHealth(this.#serving.config);
  }

  #forkFirst(): void {
    if (this.#stopping) return;
    const { workers } = this.#serving.config.server;
    for (let i = 0; i < workers; i++) this.#fork(this.#serving);
    log.info('started', { workers, pid: process.pid });
  }

  /** The orderer follows the serving generation's https.acme (a reload may add, change or remove it). */
  async #serveAcme(config: SwitchyardConfig): Promise<void> {
    const wanted = config.https?.acme ?? null;
    if (JSON.stringify(this.#acme?.config ?? null) === JSON.stringify(wanted) && JSON.stringify(config.redis) === JSON.stringify(this.#acmeRedis)) return;
    const current = this.#acme;
    this.#acme = null;
    await current?.stop();
    if (wanted === null || this.#stopping) return;
    this.#acmeRedis = config.redis;
    const { InstanceAcme } = await import('../acme/instance.js');
    this.#acme = await InstanceAcme.start(config, {
      hosts: (issued) => this.#acmeHosts(issued),
      workers: () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined),
      counted: (outcome) => this.#metrics.acmeOrders.inc({ outcome }),
    });
  }

  #acmeRedis: SwitchyardConfig['redis'] = null;

  /** The prober follows the serving generation's Redis (a reload may add, move or remove it); the checks themselves are asked of the workers. */
  async #serveHealth(config: SwitchyardConfig): Promise<void> {
    await this.#healthStarting;
    if (this.#health !== null && JSON.stringify(this.#health.redis) === JSON.stringify(config.redis)) return;
    const current = this.#health;
    this.#health = null;
    await current?.stop();
    if (this.#stopping) return;
    const { InstanceHealth } = await import('../health/instance.js');
    this.#healthStarting = InstanceHealth.start(config, {
      targets: (known) => this.#healthTargets(known),
      workers: () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined),
      counted: (result) => this.#metrics.healthChecks.inc({ result }),
    }).then((health) => {
      this.#health = health;
    });
    await this.#healthStarting;
  }

  /** The oldest serving worker's targets, under the serving generation's server.healthCheck. */
  async #healthTargets(known: string | null): Promise<TargetsAnswer | null> {
    const [oldest] = this.#serving.listeningWorkers().sort((a, b) => a.id - b.id);
    if (oldest === undefined) return null;
    const query = { kind: 'health-targets', defaults: this.#serving.config.server.healthCheck, known } as const;
    const answer = await this.#queries.ask(oldest, query, 10_000).catch(() => null);
    return answer?.status === 200 ? (answer.body as TargetsAnswer) : null;
  }

  /** The oldest serving worker's word on which hosts need a certificate; null when none is listening or it did not answer. */
  async #acmeHosts(issued: string[]): Promise<AcmeHosts | null> {
    const [oldest] = this.#serving.listeningWorkers().sort((a, b) => a.id - b.id);
    if (oldest === undefined) return null;
    const answer = await this.#queries.ask(oldest, { kind: 'acme-hosts', issued }, 10_000).catch(() => null);
    return answer?.status === 200 ? (answer.body as AcmeHosts) : null;
  }

  #fork(generation: Generation): Worker {
    const worker = cluster.fork({ [CONFIG_ENV]: JSON.stringify(generation.config), [TICKET_KEYS_ENV]: this.#ticketKeys.current });
    generation.workers.add(worker);
    return worker;
  }

  /** The serving or the probation generation; null for a worker already told to drain. */
  #generationOf(worker: Worker): Generation | null {
    if (this.#serving.workers.has(worker)) return this.#serving;
    const pending = this.#probation?.generation;
    return pending?.workers.has(worker) ? pending : null;
  }

  #onMessage(worker: Worker, message: WorkerMessage): void {
    // Answers come from draining workers too.
    if (message.type === 'answer') return this.#queries.answered(message.id, message.answer);
    if (message.type === 'final-metrics') return this.#metrics.seen(worker.id, message.metrics);
    if (message.type === 'acme-challenge-held') return this.#acme?.held(worker, message.token);
    const generation = this.#generationOf(worker);
    if (generation === null) return;
    switch (message.type) {
      case 'listening':
        generation.listened(worker);
        this.#acme?.greet(worker);
        this.#health?.greet(worker);
        this.#ticketKeys.greet(worker);
        return this.#report(worker, generation);
      case 'failed': {
        const cause = `worker ${worker.id} ${message.cause}`;
        this.#causes.set(worker, cause);
        if (generation !== this.#serving) this.#rollBack(cause);
        return;
      }
      case 'over-memory': {
        const rssMiB = Math.round(message.rss / 1048576);
        if (generation !== this.#serving) return this.#rollBack(`worker ${worker.id} went over the memory limit (${rssMiB} MiB)`);
        log.warn('worker over memory limit; replacing it', { worker: worker.id, rssMiB });
        generation.remove(worker);
        this.#retiring.add(worker);
        if (!this.#stopping) {
          this.#metrics.restarts.inc();
          this.#fork(generation);
        }
        return;
      }
      default:
        assertNever(message);
    }
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.#queries.gone(worker);
    this.#metrics.departed(worker.id);
    const generation = this.#generationOf(worker);
    generation?.remove(worker);
    const expected = this.#retiring.delete(worker);
    const reported = this.#causes.get(worker);
    this.#causes.delete(worker);
    if (this.#stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (expected || generation === null) return;
    if (generation !== this.#serving) return this.#rollBack(reported ?? `worker ${worker.id} died (${signal ?? `exit code ${code}`})`);
    log.error('worker died; replacing it', { worker: worker.id, generation: generation.id, code, signal, cause: reported });
    this.#metrics.restarts.inc();
    const now = Date.now();
    this.#crashes = this.#crashes.filter((t) => now - t < RESTART_WINDOW_MS).concat(now);
    // A crash loop (bad certificate, port taken) must not spin the CPU: slow down, never give up.
    const delay = this.#crashes.length > RESTART_BURST ? 1000 : 0;
    // The replacement runs its generation's config; none once a reload has retired that generation.
    setTimeout(() => this.#stopping || generation !== this.#serving || this.#fork(generation), delay);
  }

  /**
   * SIGHUP: a valid new config gets a new generation of workers, beside the
   * serving one. A newer SIGHUP during its probation replaces it (latest wins).
   */
  reload(): void {
    if (this.#stopping) return;
    const origin = this.#serving.config.origin;
    if (origin === null) {
      log.warn('SIGHUP ignored: running without a config file');
      return;
    }
    let next: SwitchyardConfig;
    try {
      next = loadConfigFile(origin);
    } catch (err) {
      log.error('reload rejected; the running configuration stays', { file: origin, error: (err as Error).message });
      return this.#decide('rejected', (err as Error).message, null);
    }
    if (this.#probation !== null) {
      log.warn('reload superseded by a newer SIGHUP; its workers stop', { generation: this.#probation.generation.id });
      this.#endProbation(this.#probation);
    }
    const generation = new Generation(++this.#lastGeneration, next);
    const timeout = next.server.reloadTimeout;
    const probation: Probation = { generation, timer: setTimeout(() => this.#judge(probation), timeout * 1000) };
    this.#probation = probation;
    log.info('reloading: a new generation starts beside the serving one', { file: origin, generation: generation.id, reloadTimeout: timeout });
    for (let i = 0; i < next.server.workers; i++) this.#fork(generation);
  }

  /** reloadTimeout has passed: every worker of the new generation listening (none died, or it would be over) means it serves. */
  #judge(probation: Probation): void {
    const { generation } = probation;
    const { workers, reloadTimeout } = generation.config.server;
    if (generation.silent > 0) return this.#rollBack(`${generation.silent} of ${workers} workers did not listen within ${reloadTimeout} s`);
    this.#probation = null;
    const previous = this.#serving;
    this.#serving = generation;
    setLogFormat(generation.config.server.logFormat);
    this.#crashes = [];
    this.#retire(previous);
    log.info('reload applied; the previous generation drains', { generation: generation.id, previous: previous.id, workers });
    void this.#serveAdmin(generation.config.admin);
    void this.#serveAcme(generation.config);
    void this.#serveHealth(generation.config);
    void this.#ticketKeys.follow(generation.config);
    this.#decide('applied', null, generation.id);
  }

  /** The new generation failed: it stops, and the serving one (never touched) goes on. */
  #rollBack(cause: string): void {
    const probation = this.#probation;
    if (probation === null) return;
    this.#endProbation(probation);
    log.error('reload rolled back: its workers stop, the running configuration stays', {
      generation: probation.generation.id,
      serving: this.#serving.id,
      cause,
    });
    this.#decide('rolled-back', cause, probation.generation.id);
  }

  #endProbation(probation: Probation): void {
    clearTimeout(probation.timer);
    this.#probation = null;
    this.#retire(probation.generation);
  }

  /**
   * Drained by a signal, not an IPC message: a worker forked a moment ago has
   * not set up its message handler yet and would miss it. Until its SIGTERM
   * handler is set it listens on nothing, so dying at once is right for it.
   */
  #retire(generation: Generation): void {
    for (const worker of [...generation.workers]) {
      generation.remove(worker);
      this.#retiring.add(worker);
      worker.process.kill('SIGTERM');
    }
  }

  #decide(outcome: ReloadOutcome['outcome'], cause: string | null, generation: number | null): void {
    this.#lastReload = { at: new Date().toISOString(), outcome, cause, generation };
    for (const worker of this.#serving.listeningWorkers()) this.#report(worker, this.#serving);
  }

  /**
   * SIGUSR1, as nginx's USR1: every worker (draining ones too, which still
   * log) reopens its access log, so that logrotate's `postrotate kill -USR1`
   * moves all writing to the new file. Passed on over IPC, not as a signal:
   * a worker forked a moment ago, before its own listener is set, would take
   * SIGUSR1 as Node's "start the inspector".
   */
  reopenLogs(): void {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    log.info('SIGUSR1: workers reopen their access logs', { workers: workers.length });
    for (const worker of workers) worker.send({ type: 'reopen-logs' } satisfies MasterMessage);
  }

  /** Tells a listening worker its generation and the last reload's outcome, for the admin status. */
  #report(worker: Worker, generation: Generation): void {
    if (worker.isConnected()) worker.send({ type: 'report', generation: generation.id, reload: this.#lastReload } satisfies MasterMessage);
  }

  async stop(reason: string): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#probation !== null) clearTimeout(this.#probation.timer);
    void this.#acme?.stop();
    void this.#health?.stop();
    void this.#ticketKeys.stop();
    const delay = this.#serving.config.server.shutdownDelay;
    if (delay > 0) {
      // /readyz says 503 from now on: load balancers stop sending while the listeners still serve.
      log.info('stopping: not ready; draining after shutdownDelay', { reason, shutdownDelay: delay });
      await new Promise((resolve) => setTimeout(resolve, delay * 1000));
    }
    log.info('stopping: draining workers', { reason });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(0);
    // A signal, not an IPC message (see #retire).
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      log.warn('drain timeout: killing remaining workers');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(0);
    }, (Math.max(this.#serving.config.server.drainTimeout, this.#probation?.generation.config.server.drainTimeout ?? 0) + 1) * 1000).unref();
  }
}
