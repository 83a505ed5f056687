// Starting what the benchmark measures and what it measures against: Redis,
// the backend (nginx static, else a Node backend), the WebSocket echo backend,
// the nginx reference proxy and Switchyard. Each start waits until the server
// answers and returns the ChildProcess (stopped later through procs.stop).

import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, stop, waitHttp, requireFreePorts, sleep, get } from './procs.js';
import { Redis } from './resp.js';
import { backendConf, proxyConf } from './nginx.js';
import { treePids } from './proc-stats.js';

export async function startRedis(ctx) {
  const port = ctx.ports.redis;
  await requireFreePorts([port]);
  const child = start('redis-server', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--logfile', join(ctx.work, 'redis.log'),
  ]);
  for (let i = 0; i < 200; i++) {
    const r = new Redis(port);
    try {
      await r.ready;
      await r.cmd('PING');
      return { child, client: r };
    } catch {
      r.close();
      if (child.exitCode !== null) break;
      await sleep(50);
    }
  }
  await stop(child);
  throw new Error(`redis-server did not start on port ${port} (see ${join(ctx.work, 'redis.log')})`);
}

export async function startBackend(ctx) {
  const port = ctx.ports.backend;
  await requireFreePorts([port]);
  let child;
  if (ctx.backendKind === 'nginx') {
    mkdirSync(join(ctx.work, 'nginx-tmp'), { recursive: true });
    mkdirSync(join(ctx.work, 'www'), { recursive: true });
    writeFileSync(join(ctx.work, 'www', '64k'), Buffer.alloc(64 * 1024, 'x'));
    writeFileSync(join(ctx.work, 'www', '1m'), Buffer.alloc(1024 * 1024, 'x'));
    const conf = join(ctx.work, 'nginx-backend.conf');
    writeFileSync(conf, backendConf(ctx.work, port));
    child = start('nginx backend', 'nginx', ['-c', conf, '-p', `${ctx.work}/`, '-e', join(ctx.work, 'nginx-backend.err')],
      { logFile: join(ctx.work, 'nginx-backend.log') });
  } else {
    child = start('node backend', process.execPath, [join(ctx.benchDir, 'tools', 'backend.js'), String(port)],
      { logFile: join(ctx.work, 'backend.log') });
  }
  await waitHttp(port, 'x', { child, what: `${ctx.backendKind} backend`, timeoutMs: 10_000 });
  return child;
}

export async function startWsEcho(ctx) {
  const port = ctx.ports.wsEcho;
  await requireFreePorts([port]);
  const child = start('ws echo', process.execPath, [join(ctx.benchDir, 'tools', 'ws-echo.js'), String(port)],
    { logFile: join(ctx.work, 'ws-echo.log') });
  await waitHttp(port, 'x', { child, what: 'ws echo backend', timeoutMs: 10_000 });
  return child;
}

/** The nginx reference proxy; resolves { child, readyS }. */
export async function startNginxRef(ctx, { catchAll = false, readyHost = 'bench.local', tls = false } = {}) {
  const port = ctx.ports.nginxRef;
  await requireFreePorts(tls ? [port, ctx.ports.nginxTls] : [port]);
  mkdirSync(join(ctx.work, 'nginx-tmp'), { recursive: true });
  const conf = join(ctx.work, 'nginx-proxy.conf');
  writeFileSync(conf, proxyConf(ctx.work, {
    port, backendPort: ctx.ports.backend, wsPort: ctx.ports.wsEcho, workers: ctx.opts.refWorkers, catchAll,
    tls: tls ? { port: ctx.ports.nginxTls, cert: ctx.tls.cert, key: ctx.tls.key } : null,
  }));
  const t0 = performance.now();
  const child = start('nginx proxy', 'nginx', ['-c', conf, '-p', `${ctx.work}/`, '-e', join(ctx.work, 'nginx-proxy.err')],
    { logFile: join(ctx.work, 'nginx-proxy.log') });
  await waitHttp(port, readyHost, { child, what: 'nginx reference proxy', timeoutMs: 10_000, intervalMs: 10 });
  return { child, readyS: (performance.now() - t0) / 1000 };
}

/**
 * The TLS floor (tools/tls-floor.js): node:https answering by itself, one
 * process, on the benchmark's certificate. Resolves { child, readyS }.
 */
export async function startTlsFloor(ctx) {
  const port = ctx.ports.tlsFloor;
  await requireFreePorts([port]);
  const t0 = performance.now();
  const child = start('tls floor', process.execPath, [join(ctx.benchDir, 'tools', 'tls-floor.js'), String(port), ctx.tls.cert, ctx.tls.key],
    { logFile: join(ctx.work, 'tls-floor.log') });
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`tls floor exited (code ${child.exitCode ?? child.signalCode}) before answering (log: ${join(ctx.work, 'tls-floor.log')})`);
    if ((await get(port, 'bench.local', '/', { tls: true, timeoutMs: 2000 })).status === 200) break;
    if (performance.now() - t0 > 10_000) {
      await stop(child);
      throw new Error(`tls floor did not answer on 127.0.0.1:${port} within 10 s`);
    }
    await sleep(20);
  }
  return { child, readyS: (performance.now() - t0) / 1000 };
}

/**
 * Switchyard as a user runs it (`node bin/switchyard.js --config F`), reading
 * routes from our Redis, or from a vhosts directory (`file`). Resolves
 * { child, readyS } once `readyHost` (a string or a function giving a host)
 * answers 2xx; readyS = process start -> first 2xx.
 */
export async function startSwitchyard(ctx, { workers, file, readyHost = 'bench.local', readyTimeoutMs = 60_000, root = ctx.root, nodeArgs = [], tls = false }) {
  const port = ctx.ports.switchyard;
  await requireFreePorts(tls ? [port, ctx.ports.switchyardTls] : [port]);
  const config = {
    server: { workers, ...(ctx.opts.configExtra.server ?? {}) },
    http: { port, bind: ['127.0.0.1'] },
    ...(tls ? { https: { port: ctx.ports.switchyardTls, bind: ['127.0.0.1'], cert: ctx.tls.cert, key: ctx.tls.key } } : {}),
    ...(file ? { file: { path: file } } : { driver: [`redis://127.0.0.1:${ctx.ports.redis}`] }),
    ...Object.fromEntries(Object.entries(ctx.opts.configExtra).filter(([k]) => k !== 'server')),
  };
  const confFile = join(ctx.work, `switchyard-${file ? 'file' : 'redis'}-w${workers}${tls ? '-tls' : ''}.json`);
  writeFileSync(confFile, JSON.stringify(config, null, 2));
  const logFile = join(ctx.work, 'switchyard.log');
  writeFileSync(logFile, `--- ${new Date().toISOString()} ${confFile}\n`, { flag: 'a' });
  const t0 = performance.now();
  const child = start('switchyard', process.execPath, [...nodeArgs, join(root, 'bin', 'switchyard.js'), '--config', confFile],
    { cwd: root, logFile });
  // A worker replaced again and again (crash loop, memory limit) never gets ready: give up early.
  const workerPids = new Set();
  const check = () => {
    for (const pid of treePids([child.pid])) if (pid !== child.pid) workerPids.add(pid);
    if (workerPids.size > workers + 2) {
      throw new Error(`switchyard replaced its workers ${workerPids.size - workers} times before answering 2xx; ` +
        `last warnings: ${lastWarnings(logFile)} (log: ${logFile})`);
    }
  };
  try {
    await waitHttp(port, readyHost, { child, what: `switchyard (log: ${logFile})`, timeoutMs: readyTimeoutMs, intervalMs: 10, check });
  } catch (err) {
    await stop(child);
    throw err;
  }
  return { child, readyS: (performance.now() - t0) / 1000 };
}

/** The last two WARN/ERROR lines of a log, for error messages. */
function lastWarnings(logFile) {
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => / (WARN|ERROR) /.test(l));
    return lines.slice(-2).reverse().map((l) => l.replace(/^\S+ /, '')).join(' | ') || 'none';
  } catch {
    return 'none';
  }
}
