import { execFileSync } from 'node:child_process';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { logger, setLogPrefix } from '../../src/log.js';
import { isMasterMessage, type WorkerMessage } from './messages.js';
import { MemoryGuard } from './memory-guard.js';
import { ProxyRuntime } from './runtime.js';

const log = logger('worker');

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** After binding, a worker started as root runs as `user` (the master keeps root to re-bind for replacements). */
function dropPrivileges(user: string | null): void {
  if (user === null || process.getuid?.() !== 0) return;
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  process.setgid!(gid);
  process.setuid!(user);
  log.info('dropped privileges', { user });
}

/**
 * Tells the master why this worker exits, then exits: during a reload the
 * master rolls back with this cause (a port taken, a key that does not match
 * its certificate); otherwise it logs it and replaces the worker.
 */
function fail(cause: string): void {
  if (process.send === undefined) process.exit(1);
  process.send({ type: 'failed', cause } satisfies WorkerMessage, undefined, undefined, () => process.exit(1));
}

/** A worker process: serve until told to drain (SIGTERM), or until over the memory limit. */
export async function runWorker(config: SwitchyardConfig, id: string): Promise<void> {
  setLogPrefix(`worker ${id}`);
  try {
    await serve(config, id);
  } catch (err) {
    log.error('failed to start', { error: (err as Error).message });
    fail(`failed to start: ${(err as Error).message}`);
  }
}

async function serve(config: SwitchyardConfig, id: string): Promise<void> {
  const runtime = await ProxyRuntime.create(config);
  runtime.workerName = id;
  let draining = false;
  const drainAndExit = async (reason: string) => {
    if (draining) return;
    draining = true;
    log.info('draining', { reason });
    const deadline = setTimeout(() => {
      log.warn('drain timeout reached; exiting with requests in flight');
      process.exit(0);
    }, config.server.drainTimeout * 1000).unref();
    await runtime.drain();
    await runtime.stop();
    clearTimeout(deadline);
    process.exit(0);
  };

  process.on('message', (message: unknown) => {
    if (isMasterMessage(message)) runtime.report = { generation: message.generation, reload: message.reload };
  });
  process.on('SIGTERM', () => void drainAndExit('SIGTERM'));
  process.on('SIGINT', () => {}); // the master coordinates shutdown on ^C
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception; worker exits', { error: err.stack ?? err.message });
    fail(`uncaught exception: ${err.message}`);
  });

  const listeners = await runtime.start();
  dropPrivileges(config.user);
  log.info('listening', { on: listeners.map((l) => `${l.secure ? 'https' : 'http'}://${l.address}:${l.port}`).join(',') });
  send({ type: 'listening' });

  if (config.server.workerMemoryLimitMiB > 0) {
    const guard = new MemoryGuard(config.server.workerMemoryLimitMiB, runtime.table);
    setInterval(() => {
      const rss = guard.check();
      if (rss !== null && !draining) {
        send({ type: 'over-memory', rss });
        void drainAndExit(`rss ${Math.round(rss / 1048576)} MiB over the ${guard.limitMiB} MiB limit`);
      }
    }, config.server.memoryCheckInterval * 1000).unref();
  }
}
