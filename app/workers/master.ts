import cluster, { type Worker } from 'node:cluster';
import { loadConfigFile } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { logger, setLogPrefix } from '../../src/log.js';
import { isWorkerMessage, type MasterMessage } from './messages.js';

const log = logger('master');
/** Read by cli/main.ts in the worker. */
const CONFIG_ENV = 'SWITCHYARD_WORKER_CONFIG';
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

/**
 * The master: keeps `server.workers` workers of the current generation
 * alive, replaces a dead or over-memory worker at once, reloads the config on
 * SIGHUP by starting a new generation before draining the old one, and drains
 * everything on SIGTERM/SIGINT.
 */
export class Master {
  #config: SwitchyardConfig;
  #generation = new Set<Worker>();
  #retiring = new Set<Worker>();
  #crashes: number[] = [];
  #stopping = false;

  constructor(config: SwitchyardConfig) {
    this.#config = config;
  }

  start(): void {
    setLogPrefix('master');
    // Workers accept connections themselves: no per-connection hop through the master.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    cluster.on('message', (worker, message) => {
      if (isWorkerMessage(message) && message.type === 'over-memory') {
        log.warn('worker over memory limit; replacing it', { worker: worker.id, rssMiB: Math.round(message.rss / 1048576) });
        this.#generation.delete(worker);
        this.#retiring.add(worker);
        if (!this.#stopping) this.#fork();
      }
    });
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('SIGINT', () => void this.stop('SIGINT'));
    process.on('SIGHUP', () => this.reload());
    for (let i = 0; i < this.#config.server.workers; i++) this.#fork();
    log.info('started', { workers: this.#config.server.workers, pid: process.pid });
  }

  #fork(): Worker {
    const worker = cluster.fork({ [CONFIG_ENV]: JSON.stringify(this.#config) });
    this.#generation.add(worker);
    return worker;
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const expected = this.#retiring.delete(worker);
    const current = this.#generation.delete(worker);
    if (this.#stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (expected || !current) return;
    log.error('worker died; replacing it', { worker: worker.id, code, signal });
    const now = Date.now();
    this.#crashes = this.#crashes.filter((t) => now - t < RESTART_WINDOW_MS).concat(now);
    // A crash loop (bad certificate, port taken) must not spin the CPU: slow down, never give up.
    const delay = this.#crashes.length > RESTART_BURST ? 1000 : 0;
    setTimeout(() => this.#stopping || this.#fork(), delay);
  }

  /** SIGHUP: a valid new config gets a new generation of workers; the old one drains once it listens. */
  reload(): void {
    if (this.#stopping) return;
    const origin = this.#config.origin;
    if (origin === null) {
      log.warn('SIGHUP ignored: running without a config file');
      return;
    }
    let next: SwitchyardConfig;
    try {
      next = loadConfigFile(origin);
    } catch (err) {
      log.error('reload rejected; the running configuration stays', { file: origin, error: (err as Error).message });
      return;
    }
    log.info('reloading', { file: origin });
    this.#config = next;
    const old = [...this.#generation];
    this.#generation.clear();
    let waiting = next.server.workers;
    for (let i = 0; i < next.server.workers; i++) {
      const worker = this.#fork();
      worker.on('message', (message: unknown) => {
        if (isWorkerMessage(message) && message.type === 'listening' && --waiting === 0) this.#retire(old);
      });
    }
  }

  #retire(workers: Worker[]): void {
    for (const worker of workers) {
      this.#retiring.add(worker);
      worker.send({ type: 'drain' } satisfies MasterMessage);
    }
  }

  async stop(reason: string): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    log.info('stopping: draining workers', { reason });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(0);
    // A signal, not an IPC message: a worker forked a moment ago has not set up
    // its message handler yet and would miss a 'drain', keeping the master
    // waiting for drainTimeout. Until its SIGTERM handler is set, it listens on
    // nothing, so dying at once is right for it.
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      log.warn('drain timeout: killing remaining workers');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(0);
    }, (this.#config.server.drainTimeout + 1) * 1000).unref();
  }
}
