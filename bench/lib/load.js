// HTTP load generators: wrk (preferred), autocannon in a child process when
// wrk is absent. Both report the same normalised record; every run is bounded
// in time (the tool's own -d, plus a hard kill a little after it).

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { run } from './procs.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WRK_DIR = join(HERE, '..', 'wrk');
const AUTOCANNON_TOOL = join(HERE, '..', 'tools', 'autocannon-load.js');

/**
 * @param {object} o
 * @param {'wrk'|'autocannon'} o.tool
 * @param {number} o.port  @param {string} o.host  @param {string} [o.path]
 * @param {number} o.conns @param {number} o.seconds @param {number} [o.threads]
 * @param {'get'|'post1k'|'random-host'|'random-path'} [o.kind]
 * @param {number} [o.hosts] K for random-host, and for random-path (paths /p<i>/item)
 * @param {'http'|'https'} [o.scheme] https: wrk only (the tls scenario)
 */
export async function httpLoad(o) {
  const r = await (o.tool === 'wrk' ? wrk(o) : autocannon(o));
  if (!r.requests) throw new Error(`${o.tool}: no request completed in ${o.seconds} s (errors ${r.errors}, non-2xx ${r.non2xx})`);
  return r;
}

async function wrk({ port, host, path = '/', conns, seconds, threads = 1, kind = 'get', hosts = 0, scheme = 'http' }) {
  const args = [`-t${Math.min(threads, conns)}`, `-c${conns}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
  const env = { ...process.env, BENCH_WRK_DIR: WRK_DIR };
  if (kind === 'post1k') args.push('-s', join(WRK_DIR, 'post1k.lua'));
  else if (kind === 'random-host') {
    args.push('-s', join(WRK_DIR, 'random-host.lua'));
    Object.assign(env, { K: String(hosts), HOST_PREFIX: 'h', HOST_SUFFIX: '.scale.test' });
  } else if (kind === 'random-path') {
    args.push('-s', join(WRK_DIR, 'random-path.lua'));
    env.K = String(hosts);
  } else args.push('-s', join(WRK_DIR, 'report.lua'));
  if (kind !== 'random-host') args.push('-H', `Host: ${host}`);
  args.push(`${scheme}://127.0.0.1:${port}${path}`);
  const r = await run('wrk', args, { env, timeoutMs: (seconds + 20) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk produced no result${r.timedOut ? ' (killed: over time)' : ''}: ${(r.stderr || r.stdout).slice(0, 400)}`);
  const j = JSON.parse(line.slice(8));
  return {
    requests: j.requests,
    seconds: j.duration_us / 1e6,
    rps: j.rps,
    bytes: j.bytes,
    p50_us: j.p50_us,
    p99_us: j.p99_us,
    max_us: j.max_us,
    non2xx: j.err_status, // wrk counts statuses > 399 here
    errors: j.err_connect + j.err_read + j.err_write + j.err_timeout,
  };
}

async function autocannon({ port, host, path = '/', conns, seconds, kind = 'get', hosts = 0 }) {
  const spec = { port, host, path, conns, seconds, kind, hosts };
  const r = await run(process.execPath, [AUTOCANNON_TOOL, JSON.stringify(spec)], { timeoutMs: (seconds + 20) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('ACJSON '));
  if (!line) throw new Error(`autocannon produced no result: ${(r.stderr || r.stdout).slice(0, 400)}`);
  return JSON.parse(line.slice(7));
}
