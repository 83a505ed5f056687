#!/usr/bin/env node
// CPU profile of one Switchyard worker under load: the evidence behind
// docs/performance.md. Starts Redis, the nginx static backend and Switchyard
// (1 worker, Redis source) under `node --cpu-prof`, loads it with wrk, stops
// it (SIGTERM: the worker writes its profile on exit) and prints where the
// worker's busy time went: by function (self time) and by area.
//
// Usage: node bench/tools/profile.js [--path /] [--kind get|post1k] [--conns 50] [--seconds 8]
//          [--root DIR] [--env K=V] [--top 25] [--out DIR]
// Needs nginx, redis-server and wrk (as `npm run bench`); loopback only.

import { mkdtempSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpLoad } from '../lib/load.js';
import { stop, stopAll } from '../lib/procs.js';
import { startBackend, startRedis, startSwitchyard } from '../lib/servers.js';

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));

function options(argv) {
  const o = { path: '/', kind: 'get', conns: 50, seconds: 8, root: dirname(benchDir), env: [], top: 25, out: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i].replace(/^--/, ''), argv[i + 1]];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    if (key === 'env') o.env.push(value);
    else if (key in o) o[key] = ['conns', 'seconds', 'top'].includes(key) ? Number(value) : value;
    else throw new Error(`unknown option --${key}`);
  }
  return o;
}

/** Where a profile node's time belongs, for the summary by area. */
function area(frame) {
  const url = frame.url;
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  if (frame.functionName === '(program)') return 'V8/native, no JS frame (program)';
  if (url.includes('/dist/')) return 'Switchyard (dist/)';
  if (url.startsWith('node:')) return 'Node.js library (node:*)';
  if (url === '') return 'native (system calls, builtins)';
  return 'other JS';
}

/** Self time per function and per area, idle excluded. */
export function summarize(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  const byFunction = new Map();
  const byArea = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const where = frame.url ? `${basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byArea.set(area(frame), (byArea.get(area(frame)) ?? 0) + us);
  }
  const rows = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => `| ${k} | ${(us / 1000).toFixed(0)} | ${((100 * us) / busy).toFixed(1)} % |`);
  return [
    `busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`,
    '', '| area | ms | share of busy |', '|:--|--:|--:|', ...rows(byArea, 10),
    '', '| function (self time) | ms | share of busy |', '|:--|--:|--:|', ...rows(byFunction, top),
  ].join('\n');
}

async function main() {
  const o = options(process.argv.slice(2));
  const work = mkdtempSync(join(os.tmpdir(), 'switchyard-profile-'));
  const profDir = resolve(o.out ?? join(work, 'profiles'));
  mkdirSync(profDir, { recursive: true });
  const ctx = {
    root: resolve(o.root), benchDir, work, backendKind: 'nginx',
    ports: { backend: 19140, switchyard: 19141, redis: 6395 },
    opts: { configExtra: {} },
  };
  const redis = (await startRedis(ctx)).client;
  await redis.cmd('RPUSH', 'frontend:bench.local', 'bench', `http://127.0.0.1:${ctx.ports.backend}`);
  await startBackend(ctx);
  for (const kv of o.env) process.env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  const sy = await startSwitchyard(ctx, { workers: 1, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const load = { tool: 'wrk', port: ctx.ports.switchyard, host: 'bench.local', path: o.path, conns: o.conns, kind: o.kind };
  await httpLoad({ ...load, seconds: 2 });
  const r = await httpLoad({ ...load, seconds: o.seconds });
  await stop(sy.child);
  redis.close();
  // Profiles are named CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the worker's is not the master's pid.
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] !== String(sy.child.pid));
  if (files.length === 0) throw new Error(`no worker profile written in ${profDir}`);
  const worker = join(profDir, files[0]);
  console.log(`${o.kind} ${o.path} at ${o.conns} connections: ${Math.round(r.rps)} req/s, p50 ${(r.p50_us / 1000).toFixed(2)} ms, p99 ${(r.p99_us / 1000).toFixed(2)} ms (warm-up and load both profiled)`);
  console.log(`profile: ${worker}\n`);
  console.log(summarize(JSON.parse(readFileSync(worker, 'utf8')), o.top));
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`profile: ${err.message}`);
  code = 1;
} finally {
  await stopAll();
}
process.exit(code);
