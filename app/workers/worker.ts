import { execFileSync } from 'node:child_process';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { logger, setLogFormat, setLogProcess } from '../../src/log.js';
import { answerQuery } from '../admin/answers.js';
import { isMasterMessage, type MasterMessage, type WorkerMessage } from './messages.js';
import { MemoryGuard } from './memory-guard.js';
import { ProxyRuntime } from './runtime.js';

const log = logger('worker');

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** Sends and waits until the message is written: the process may exit right after. */
function tell(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => (process.send === undefined ? resolve() : process.send(message, undefined, undefined, () => resolve())));
}

/** After binding, a worker started as root runs as `user` (the master keeps root to re-bind for replacements). */
function dropPrivileges(user: string | null): void {
  if (user === null || process.getuid?.() !== 0) return;
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  process.setgid!(gid);
  process.setuid!(user);
  log.info('dropped privileges', { user });
}

/** A worker process: serve until told to drain (SIGTERM), or until over the memory limit. */
export async function runWorker(config: SwitchyardConfig, id: string): Promise<void> {
  setLogProcess('worker', id);
  setLogFormat(config.server.logFormat);
  await new WorkerProcess(config, id).run();
}

class WorkerProcess {
  #runtime: ProxyRuntime | null = null;
  #draining = false;

  constructor(
    private readonly config: SwitchyardConfig,
    private readonly id: string,
  ) {}

  async run(): Promise<void> {
    // Set before the access log is opened, so no reopen can fall between the two.
    const reopenLogs = (): void => this.#runtime?.reopenLogs();
    process.on('SIGUSR1', reopenLogs); // sent to a worker itself; without a listener Node would start its inspector
    process.on('message', (message: unknown) => isMasterMessage(message) && message.type === 'reopen-logs' && reopenLogs());
    process.on('SIGTERM', () => void this.#drainAndExit('SIGTERM'));
    process.on('SIGINT', () => {}); // the master coordinates shutdown on ^C
    process.on('uncaughtException', (err) => {
      log.error('uncaught exception; worker exits', { error: err.stack ?? err.message });
      void tell({ type: 'failed', cause: `uncaught exception: ${err.message}` }).then(() => process.exit(1));
    });
    try {
      await this.#serve();
    } catch (err) {
      // During a reload the master rolls back with this cause (a port taken, a
      // key that does not match its certificate); otherwise it replaces the worker.
      const message = (err as Error).message;
      log.error('failed to start', { error: message });
      await tell({ type: 'failed', cause: `failed to start: ${message}` });
      // A listener bound before the failure may have accepted connections: they are answered first.
      await this.#drainAndExit('failed to start', 1);
    }
  }

  async #serve(): Promise<void> {
    const { config } = this;
    const runtime = (this.#runtime = await ProxyRuntime.create(config));
    runtime.workerName = this.id;
    const admin = runtime.adminState();
    process.on('message', (message: unknown) => {
      if (isMasterMessage(message)) this.#onMaster(message, runtime, admin);
    });
    const listeners = await runtime.start();
    dropPrivileges(config.user);
    log.info('listening', { on: listeners.map((l) => `${l.secure ? 'https' : 'http'}://${l.address}:${l.port}`).join(',') });
    send({ type: 'listening' });

    if (config.server.workerMemoryLimitMiB > 0) {
      const guard = new MemoryGuard(config.server.workerMemoryLimitMiB, runtime.table);
      setInterval(() => {
        const rss = guard.check();
        if (rss !== null && !this.#draining) {
          send({ type: 'over-memory', rss });
          void this.#drainAndExit(`rss ${Math.round(rss / 1048576)} MiB over the ${guard.limitMiB} MiB limit`);
        }
      }, config.server.memoryCheckInterval * 1000).unref();
    }
  }

  #onMaster(message: MasterMessage, runtime: ProxyRuntime, admin: ReturnType<ProxyRuntime['adminState']>): void {
    if (message.type === 'report') {
      runtime.report = { generation: message.generation, reload: message.reload };
      return;
    }
    if (message.type === 'acme-challenge') {
      runtime.challenges?.set(message.token, message.challenge);
      if (message.challenge !== null) send({ type: 'acme-challenge-held', token: message.token });
      return;
    }
    if (message.type === 'health-marks') {
      for (const mark of message.dead) runtime.table.apply({ type: 'backend-dead', source: 'health', mark });
      for (const { host, index } of message.alive) runtime.table.apply({ type: 'backend-alive', source: 'health', host, index });
      return;
    }
    if (message.type === 'ticket-key') {
      runtime.setTicketKeys(Buffer.from(message.key, 'base64'));
      return;
    }
    if (message.type !== 'query') return; // reopen-logs has its own listener, set before the access log opens
    void answerQuery(admin, message.query)
      .catch((err: Error) => ({ status: 500, body: { error: 'INTERNAL', message: err.message } }))
      .then((answer) => send({ type: 'answer', id: message.id, answer }));
  }

  /** Stops accepting, lets what was accepted finish (up to drainTimeout), exits with `code`. */
  async #drainAndExit(reason: string, code = 0): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    log.info('draining', { reason });
    const deadline = setTimeout(() => {
      log.warn('drain timeout reached; exiting with requests in flight');
      process.exit(code);
    }, this.config.server.drainTimeout * 1000).unref();
    try {
      await this.#runtime?.drain();
      // What it counted after the last scrape stays in the instance's totals.
      const metrics = await this.#runtime?.finalMetrics();
      if (metrics != null) await tell({ type: 'final-metrics', metrics });
      await this.#runtime?.stop();
    } catch (err) {
      log.warn('could not stop cleanly', { error: (err as Error).message });
    }
    clearTimeout(deadline);
    process.exit(code);
  }
}
