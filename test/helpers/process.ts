import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { trackProcessGroup } from './cleanup.js';

/** A spawned child whose stdout/stderr are captured, in its own process group. */
export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  hasExited(): boolean;
  output(): string;
  /** Sends `signal` to the process itself (not its group). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the whole process group (workers included). */
  killGroup(): void;
  /** Signals the process, waits up to `timeoutMs`, then SIGKILLs the group. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export function spawnCaptured(command: string, args: string[], options: SpawnOptions = {}): Spawned {
  // detached: the child leads a new process group, so the proxy's workers
  // can be killed with it even when the master dies without reaping them.
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`spawn ${command} failed`);
  const pid = child.pid;
  const untrack = trackProcessGroup(pid);
  const chunks: string[] = [];
  child.stdout?.on('data', (d: Buffer) => chunks.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => chunks.push(d.toString()));
  let exited = false;
  const exitedPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    });
    child.once('error', (err) => {
      chunks.push(`spawn error: ${err.message}\n`);
      exited = true;
      resolve(null);
    });
  });

  const killGroup = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // group already gone
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch {
        // raced with exit
      }
      const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, timeoutMs, 'timeout').unref());
      if ((await Promise.race([exitedPromise, timer])) === 'timeout') {
        chunks.push(`[harness] no exit ${timeoutMs} ms after ${signal}; SIGKILL\n`);
        killGroup();
      }
    }
    const code = await exitedPromise;
    killGroup(); // reap leftover workers, if any
    untrack();
    return code;
  };

  return {
    child,
    pid,
    exited: exitedPromise,
    hasExited: () => exited,
    output: () => chunks.join(''),
    signal: (s) => {
      if (!exited) child.kill(s);
    },
    killGroup,
    stop,
  };
}
