// What this machine has, what the benchmark will therefore do and skip. The
// benchmark installs nothing: it says what is missing and how to get it.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { createRequire } from 'node:module';

function version(cmd, args, re) {
  // wrk -v exits 1, nginx -v prints to stderr: read both streams, whatever the status.
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  if (r.error) return null;
  return re.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** The version of an installed npm package resolvable from bench/, or null. */
async function moduleVersion(name) {
  try {
    await import(name);
    return createRequire(import.meta.url)(`${name}/package.json`).version ?? 'installed';
  } catch {
    return null;
  }
}

function newestMtime(dir, ext) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Tool versions (null = absent) and machine facts. */
export async function detect(root) {
  const have = {
    wrk: version('wrk', ['-v'], /wrk\s+(?:\S*\/)?(\d[\w.]*)/),
    nginx: version('nginx', ['-v'], /nginx\/(\S+)/),
    redis: version('redis-server', ['--version'], /v=(\S+)/),
    redisCli: version('redis-cli', ['--version'], /redis-cli\s+(\S+)/),
    ws: await moduleVersion('ws'),
    autocannon: await moduleVersion('autocannon'),
    openssl: version('openssl', ['version'], /OpenSSL\s+(\S+)/),
    h2load: version('h2load', ['--version'], /h2load nghttp2\/(\S+)/),
  };
  if (!have.redisCli) have.redis = null; // both are needed
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { /* not a checkout */ }
  const built = existsSync(join(root, 'dist', 'app', 'cli', 'main.js'));
  const stale = built && Math.max(...['src', 'adapters', 'app'].map((dir) => newestMtime(join(root, dir), '.ts'))) >
    newestMtime(join(root, 'dist'), '.js');
  return {
    have,
    machine: { cpu, cores: os.availableParallelism?.() ?? os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      kernel: os.release(), node: process.version, commit },
    built,
    stale,
  };
}

/**
 * Decides, from what is installed, how each scenario runs; returns
 * { lines: text to print, skips: [{scenario, reason}], backendKind, loadTool, fileSource }.
 */
export function plan(found, opts) {
  const { have } = found;
  const lines = [];
  const skips = [];
  const want = new Set(opts.scenarios);
  const say = (ok, what, why) => lines.push(`  ${ok ? '✓' : '✗'} ${what}${why ? `: ${why}` : ''}`);

  let loadTool = null;
  if (opts.tool === 'autocannon' || (!have.wrk && have.autocannon)) loadTool = have.autocannon ? 'autocannon' : null;
  else if (have.wrk) loadTool = 'wrk';
  say(Boolean(have.wrk), `wrk ${have.wrk ?? 'not found'}`,
    have.wrk ? (loadTool === 'wrk' ? 'HTTP load generator' : 'present, but --tool autocannon') :
      have.autocannon ? 'using autocannon instead (slower: it may limit the figures); install with apt-get install wrk' :
        'no HTTP load generator: install with apt-get install wrk (or npm i -D autocannon)');
  say(Boolean(have.nginx), `nginx ${have.nginx ?? 'not found'}`,
    have.nginx ? `static backend and reference proxy (${opts.refWorkers} worker)` :
      'no reference rows, Node backend instead; install with apt-get install nginx');
  say(Boolean(have.redis), `redis-server ${have.redis ?? 'not found'}`,
    have.redis ? `Switchyard's source (Hipache keys), port ${opts.redisPort}` :
      'Switchyard reads a vhosts file instead; hosts and Redis propagation skipped; install with apt-get install redis-server');
  say(Boolean(have.ws), `ws ${have.ws ?? 'module not found'}`, have.ws ? 'WebSocket scenario' : 'ws scenario skipped; npm ci installs it (devDependency)');

  const tlsWanted = ['tls', 'tls-new', 'tls-resumed', 'h2'].some((x) => want.has(x));
  if (tlsWanted) {
    say(Boolean(have.openssl), `openssl ${have.openssl ?? 'not found'}`,
      have.openssl ? `the run's certificate (${opts.tlsKey === 'rsa' ? 'RSA 2048' : 'EC P-256'}); s_time for tls-new, tls-resumed` :
        'TLS scenarios skipped; install with apt-get install openssl');
    say(Boolean(have.h2load), `h2load ${have.h2load ?? 'not found'}`,
      have.h2load ? 'HTTP/2 load generator (h2)' : 'h2 skipped; install with apt-get install nghttp2-client');
  }
  const skip = (scenario, reason) => {
    if (want.has(scenario)) skips.push({ scenario, reason });
  };
  if (!loadTool) for (const s of ['small', '64k', '1m', 'post1k', 'hosts', 'paths']) skip(s, 'no load generator (wrk or autocannon)');
  if (!have.openssl) for (const s of ['tls', 'tls-new', 'tls-resumed', 'h2']) skip(s, 'openssl not installed (certificate, s_time)');
  else {
    if (!have.wrk) skip('tls', 'wrk not installed (the only load generator here that speaks HTTPS)');
    if (!have.h2load) skip('h2', 'h2load not installed (apt-get install nghttp2-client)');
  }
  if (!have.ws) skip('ws', 'the ws module is not installed (npm ci)');
  if (!have.redis) skip('hosts', 'redis-server/redis-cli not installed');
  if (!have.redis) skip('paths', 'redis-server/redis-cli not installed');
  return { lines, skips, backendKind: have.nginx ? 'nginx' : 'node', loadTool, fileSource: !have.redis };
}
