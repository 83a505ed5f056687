// Looking at the proxy's processes from outside (its workers, their uid) and
// running the CLI with a command line of the test's choosing.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { spawnCaptured, type Spawned } from './process.js';
import { binPath, isReady, repoRoot } from './switchyard.js';
import { waitFor } from './wait.js';

/** The pids whose parent is `pid` (the master's workers), sorted. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out.sort((a, b) => a - b);
}

/** Is the process still there (and not a zombie)? */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The real, effective, saved and filesystem uids of a process (/proc/<pid>/status). */
export function uidsOf(pid: number): number[] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('Uid:'));
  if (line === undefined) throw new Error(`no Uid line for ${pid}`);
  return line.slice(4).trim().split(/\s+/).map(Number);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/switchyard.js ...args` to completion (help, version, bad configs). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): CliResult {
  const result = spawnSync(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface StartCliOptions {
  args: string[];
  /** The http port to wait on (answering `Host: __ping__`). */
  port: number;
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: the repo root). */
  cwd?: string;
  timeoutMs?: number;
  scope?: CleanupScope;
}

/** Starts the CLI with exactly `args` and resolves once `port` answers __ping__. */
export async function startCli(opts: StartCliOptions): Promise<Spawned> {
  const proc = spawnCaptured(process.execPath, [binPath, ...opts.args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
  });
  onCleanup(() => proc.stop('SIGTERM', 5000), opts.scope);
  try {
    await waitFor(
      async () => {
        if (proc.hasExited()) throw new Error(`exited early with code ${await proc.exited}`);
        return isReady(opts.port);
      },
      { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 50, message: `switchyard answering __ping__ on ${opts.port}` },
    );
  } catch (err) {
    await proc.stop('SIGKILL', 2000);
    throw new Error(`switchyard did not become ready: ${(err as Error).message}\n--- logs ---\n${proc.output()}`);
  }
  return proc;
}

/** The pids holding a listening TCP socket on 127.0.0.1:`port` (the master and its listening workers). */
export function listeningPids(port: number): number[] {
  const result = spawnSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ss failed: ${result.stderr}`);
  const pids = [...result.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
  return [...new Set(pids)].sort((a, b) => a - b);
}

/** The master's workers that are listening on `port` (children of `masterPid` holding the socket). */
export function listeningWorkers(masterPid: number, port: number): number[] {
  const listening = new Set(listeningPids(port));
  return childPids(masterPid).filter((pid) => listening.has(pid));
}

/** Seconds since boot, now (/proc/uptime): to compare with processStartedAt. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Seconds since boot at which `pid` was forked (/proc/<pid>/stat starttime, in ticks of 1/100 s). */
export function processStartedAt(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) / 100;
}
