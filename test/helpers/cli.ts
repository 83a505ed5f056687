// Runs `node bin/switchyard.js <command> ...` as a child process, without
// blocking the test's event loop (the test may be serving backends meanwhile,
// which spawnSync would freeze).
import { spawn } from 'node:child_process';
import { binPath, repoRoot } from './switchyard.js';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function switchyard(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, SWITCHYARD_ADMIN_TOKEN: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchyard ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The result as one string, for assertion messages. */
export function shown(result: CommandResult): string {
  return `exit ${result.status}\n--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`;
}
