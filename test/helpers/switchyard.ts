import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { request } from './http.js';
import { freePort } from './ports.js';
import { spawnCaptured } from './process.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The proxy entry point; SWITCHYARD_BIN overrides it (e.g. to check the harness against a stand-in). */
export const binPath = process.env.SWITCHYARD_BIN ?? path.join(repoRoot, 'bin', 'switchyard.js');

export interface Switchyard {
  /** The http port (config.http.port, allocated when absent). */
  port: number;
  /** The address the harness talks to (first http.bind entry). */
  address: string;
  pid: number;
  child: ChildProcess;
  configPath: string;
  /** The config actually written (with the allocated port). */
  config: Record<string, any>;
  /** stdout and stderr so far, interleaved. */
  logs(): string;
  /** Exit code once exited (null when killed by a signal). */
  exited: Promise<number | null>;
  hasExited(): boolean;
  /** Sends `signal` to the master, waits for exit (then SIGKILLs the group); resolves the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
}

export interface StartSwitchyardOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra CLI arguments after `--config <file>`. */
  args?: string[];
  /** Expect the process to exit on its own (bad config...): wait for the exit instead of readiness. */
  expectFail?: boolean;
  /** Readiness / exit timeout (15 s). */
  timeoutMs?: number;
  /** Do not pass `--config` at all (then `args` is the whole command line). */
  noConfigFlag?: boolean;
  /** Whether the proxy answers yet (default isReady: `Host: __ping__` on the HTTP port gets 200 `ok`). */
  ready?: (port: number, address: string) => Promise<boolean>;
  scope?: CleanupScope;
}

/** Pings `Host: __ping__` (the proxy answers it itself with 200 `ok`). */
export async function isReady(port: number, address = '127.0.0.1'): Promise<boolean> {
  const res = await request({ port, address, host: '__ping__', timeoutMs: 1000 });
  return res.status === 200 && res.text === 'ok';
}

function firstBind(config: Record<string, any>): string {
  const bind: unknown = config.http?.bind;
  const first = Array.isArray(bind) ? bind[0] : bind;
  return typeof first === 'string' && first !== '0.0.0.0' && first !== '::' ? first : '127.0.0.1';
}

/**
 * Writes `config` to a temp file and runs `node bin/switchyard.js --config <file>`
 * from the repo root; resolves once `Host: __ping__` answers 200 `ok`.
 */
export async function startSwitchyard(
  config: object,
  opts: StartSwitchyardOptions = {},
): Promise<Switchyard> {
  const cfg = structuredClone(config) as Record<string, any>;
  cfg.http ??= {};
  if (!cfg.http.port && !opts.noConfigFlag) cfg.http.port = await freePort();
  const port: number = cfg.http.port;
  const address = firstBind(cfg);
  const dir = tempDir('proxy', opts.scope);
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(cfg, null, 2));

  const args = opts.noConfigFlag ? [...(opts.args ?? [])] : ['--config', configPath, ...(opts.args ?? [])];
  const proc = spawnCaptured(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
  });
  let signalledByTest = false;
  onCleanup(async () => {
    const crashedBefore = proc.hasExited() && !signalledByTest;
    await proc.stop('SIGTERM', 5000);
    reportLogs(proc.output(), `pid ${proc.pid}, port ${cfg.http.port}${crashedBefore ? ', exited on its own' : ''}`);
  }, opts.scope);

  const handle: Switchyard = {
    port,
    address,
    pid: proc.pid,
    child: proc.child,
    configPath,
    config: cfg,
    logs: proc.output,
    exited: proc.exited,
    hasExited: proc.hasExited,
    stop: (signal, timeoutMs) => {
      signalledByTest = true;
      return proc.stop(signal, timeoutMs);
    },
    signal: (signal) => {
      signalledByTest = true;
      proc.signal(signal);
    },
  };
  const timeoutMs = opts.timeoutMs ?? 15_000;

  if (opts.expectFail) {
    const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, timeoutMs, 'timeout').unref());
    if ((await Promise.race([proc.exited, timer])) === 'timeout') {
      throw new Error(`switchyard was expected to exit but still runs after ${timeoutMs} ms; logs:\n${proc.output()}`);
    }
    return handle;
  }

  try {
    await waitFor(
      async () => {
        if (proc.hasExited()) throw new ExitedEarly(await proc.exited);
        return (opts.ready ?? isReady)(port, address);
      },
      { timeoutMs, intervalMs: 50, message: `switchyard answering __ping__ on ${address}:${port}` },
    );
  } catch (err) {
    await proc.stop('SIGKILL', 2000);
    throw new Error(`switchyard did not become ready: ${(err as Error).message}\n--- logs ---\n${proc.output()}`);
  }
  return handle;
}

class ExitedEarly extends Error {
  constructor(code: number | null) {
    super(`process exited early with code ${code}`);
  }
}

/**
 * SWITCHYARD_TEST_LOGS=always|errors|never (default errors): print the
 * proxy's output at cleanup, so a failing test shows what the proxy said.
 */
function reportLogs(logs: string, label: string): void {
  const mode = process.env.SWITCHYARD_TEST_LOGS ?? 'errors';
  const interesting = /\b(ERROR|FATAL)\b|uncaught|unhandled/i.test(logs);
  if (mode === 'always' || (mode === 'errors' && interesting)) {
    process.stderr.write(`--- switchyard logs (${label}) ---\n${logs}--- end of switchyard logs ---\n`);
  }
}
