// Every process the benchmark starts goes through here: it runs in its own
// process group (so nginx's and Switchyard's workers go with their master),
// is remembered, and is stopped by its group id on exit, on Ctrl-C and on a
// crash. Nothing is ever killed by name.

import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';

const running = new Map(); // pid -> { name, child }
let stopping = false; // after Ctrl-C: nothing new may start

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGKILLs whatever is still running; synchronous, so it works in process.on('exit'). */
export function killAllNow() {
  for (const pid of running.keys()) killGroup(pid, 'SIGKILL');
  running.clear();
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      stopping = true;
      process.stderr.write(`\n${sig}: stopping everything the benchmark started\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/**
 * Starts `cmd args` in its own process group. stdout/stderr go to `logFile`
 * (or are piped when `pipe` is set). Returns the ChildProcess.
 */
export function start(name, cmd, args, { logFile, pipe = false, cwd, env, stdin = 'ignore' } = {}) {
  hookExit();
  if (stopping) throw new Error(`not starting ${name}: the benchmark is stopping`);
  let fd;
  let stdio = [stdin, 'pipe', 'pipe'];
  if (!pipe && logFile) {
    fd = openSync(logFile, 'a');
    stdio = [stdin, fd, fd];
  } else if (!pipe) stdio = [stdin, 'ignore', 'ignore'];
  const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio, detached: true });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${cmd})`);
  running.set(child.pid, { name, child });
  child.exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('exit', () => running.delete(child.pid));
  child.on('error', () => running.delete(child.pid));
  return child;
}

/**
 * SIGTERM to the group, then SIGKILL after `graceMs`. Resolves once the
 * leader has exited, with how long that took and whether SIGKILL was needed.
 */
export async function stop(child, graceMs = 5000) {
  const out = { seconds: 0, killed: false };
  if (!child || child.pid === undefined) return out;
  const pid = child.pid;
  const t0 = performance.now();
  if (child.exitCode === null && child.signalCode === null) {
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      out.killed = true;
      killGroup(pid, 'SIGKILL');
    }, graceMs);
    await child.exitPromise;
    clearTimeout(timer);
  }
  killGroup(pid, 'SIGKILL'); // workers the leader left behind, if any
  running.delete(pid);
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

export async function stopAll() {
  await Promise.all([...running.values()].map(({ child }) => stop(child, 3000)));
}

/** Runs a command to completion with a hard time limit; resolves { code, stdout, stderr, timedOut }. */
export function run(cmd, args, { timeoutMs, env, cwd, input } = {}) {
  return new Promise((resolve) => {
    const child = start(cmd, cmd, args, { pipe: true, env, cwd, stdin: input === undefined ? 'ignore' : 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    if (input !== undefined) {
      if (typeof input === 'function') input(child.stdin);
      else child.stdin.end(input);
    }
    let timedOut = false;
    const timer = timeoutMs ? setTimeout(() => { timedOut = true; void stop(child, 1000); }, timeoutMs) : undefined;
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err), timedOut });
    });
  });
}

/** True when something accepts connections on 127.0.0.1:port, or the port cannot be bound. */
export function portTaken(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => {
      const srv = net.createServer();
      srv.once('error', () => resolve(true));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(false)));
    });
  });
}

export async function requireFreePorts(ports) {
  const taken = [];
  for (const p of ports) if (await portTaken(p)) taken.push(p);
  if (taken.length) {
    throw new Error(`port(s) ${taken.join(', ')} already in use on 127.0.0.1 (not ours): refusing to start. ` +
      'Stop whatever uses them, or choose others with --port-base / --redis-port.');
  }
}

/**
 * One GET; resolves { status, body } ({ status: 0 } on a connection error or
 * after `timeoutMs`). `tls`: over HTTPS, with SNI `host`, the certificate not
 * verified (it is the run's own).
 */
export function get(port, host, path = '/', { tls = false, timeoutMs = 1000 } = {}) {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path, headers: { Host: host }, agent: false };
    const request = tls ? (o, cb) => https.request({ ...o, rejectUnauthorized: false, servername: host }, cb) : http.request;
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { if (body.length < 4096) body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until GET with `host` answers 2xx (or `want`), the child exits,
 * `check()` throws, or `timeoutMs` passes. Returns the seconds it took, or throws.
 */
export async function waitHttp(port, host, { timeoutMs = 60000, child, what = 'server', want, intervalMs = 20, check } = {}) {
  const t0 = performance.now();
  let last = { status: 0 };
  while (performance.now() - t0 < timeoutMs) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited (code ${child.exitCode ?? child.signalCode}) before answering`);
    }
    check?.(); // may throw to give up early
    last = await get(port, typeof host === 'function' ? host() : host);
    if (want ? last.status === want : last.status >= 200 && last.status < 300) return (performance.now() - t0) / 1000;
    await sleep(intervalMs);
  }
  throw new Error(`${what} did not answer 2xx on 127.0.0.1:${port} within ${timeoutMs / 1000} s (last status ${last.status})`);
}
