#!/usr/bin/env node
// `npm run bench`: Switchyard against nginx on this machine, loopback only.
// Starts everything it measures (Redis, backend, echo backend, nginx, Switchyard)
// on ports --port-base.. and --redis-port, stops all of it on exit, and prints
// one table of medians with ratios to the reference measured in the same run.
// See bench/README.md for what each scenario measures and how.

import { mkdirSync, mkdtempSync, appendFileSync, writeFileSync, rmSync, copyFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';
import os from 'node:os';
import { parseArgs, USAGE } from './lib/args.js';
import { detect, plan } from './lib/preflight.js';
import { requireFreePorts, stopAll } from './lib/procs.js';
import { startRedis, startBackend, startWsEcho } from './lib/servers.js';
import { initVhostsDir, vhostsYaml } from './lib/vhosts-files.js';
import { report } from './lib/summary.js';
import { HTTP_SCENARIOS, runHttpScenario } from './scenarios/http.js';
import { runWsScenario } from './scenarios/ws.js';
import { runHostsScenario } from './scenarios/hosts.js';
import { runPathsScenario } from './scenarios/paths.js';
import { runPropagationScenario } from './scenarios/propagation.js';
import { TLS_SCENARIOS, runTlsScenario } from './scenarios/tls.js';
import { makeCert } from './lib/tls.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const stamp = () => new Date().toISOString().slice(11, 19);

function portsFrom(o) {
  const b = o.portBase;
  return { backend: b, wsEcho: b + 1, switchyard: b + 10, nginxRef: b + 11, switchyardTls: b + 12, nginxTls: b + 13, tlsFloor: b + 14,
    propA: b + 20, propB: b + 21, redis: o.redisPort };
}

/** Routes every scenario relies on: bench.local -> backend, ws.bench -> echo backend. */
function routes(ports) {
  return { 'bench.local': `http://127.0.0.1:${ports.backend}`, 'ws.bench': `http://127.0.0.1:${ports.wsEcho}` };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const found = await detect(root);
  const p = plan(found, opts);
  const m = found.machine;
  console.log(`Switchyard benchmark — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}${m.commit ? `, commit ${m.commit}` : ''}`);
  for (const l of p.lines) console.log(l);
  if (!found.built) throw new Error('dist/ is missing: run `npm run build` first');
  if (opts.baseline) {
    opts.baseline = resolve(opts.baseline);
    if (!['src', 'app'].some((layer) => existsSync(join(opts.baseline, 'dist', layer, 'cli', 'main.js')))) throw new Error(`--baseline ${opts.baseline}: no dist/ there (run \`npm run build\` in it)`);
    console.log(`  baseline: ${opts.baseline} (row switchyard-baseline)`);
  }
  if (found.stale) console.log('  ! dist/ is older than src/, adapters/ or app/: run `npm run build` to measure the current code');

  const ports = portsFrom(opts);
  const needed = [ports.backend, ports.switchyard, ports.propA, ports.propB];
  if (found.have.redis) needed.push(ports.redis);
  if (found.have.nginx) needed.push(ports.nginxRef);
  if (found.have.ws) needed.push(ports.wsEcho);
  if (found.have.openssl && opts.scenarios.some((s) => TLS_SCENARIOS.includes(s))) {
    needed.push(ports.switchyardTls, ports.tlsFloor);
    if (found.have.nginx) needed.push(ports.nginxTls);
  }
  await requireFreePorts(needed); // before anything is created or started
  const outDir = opts.out ?? join(benchDir, 'results');
  mkdirSync(outDir, { recursive: true });
  const ts = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const jsonl = join(outDir, `bench-${ts}.jsonl`);
  const mdFile = join(outDir, `bench-${ts}.md`);
  const work = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-'));
  cleanup.work = work;
  cleanup.keep = opts.keepWork;
  const records = [];
  let failures = 0;
  const ctx = {
    root, benchDir, work, ports, opts, have: { nginx: Boolean(found.have.nginx), redis: Boolean(found.have.redis) },
    backendKind: p.backendKind, loadTool: p.loadTool, retryBudget: opts.retryBudget,
    log: (msg) => console.log(`[${stamp()}] ${msg}`),
    record(rec) {
      records.push(rec);
      appendFileSync(jsonl, JSON.stringify(rec) + '\n');
    },
    fail(scenario, target, err) {
      failures++;
      ctx.log(`  FAILED ${scenario} ${target}: ${err.message}`);
      ctx.record({ type: 'error', scenario, target, message: err.message.split('\n')[0].slice(0, 200) });
    },
  };
  ctx.record({ type: 'meta', date: new Date().toISOString(), machine: m, tools: found.have, opts, ports,
    backend: p.backendKind, loadTool: p.loadTool, fileSource: p.fileSource });
  for (const s of p.skips) {
    console.log(`  skip ${s.scenario}: ${s.reason}`);
    ctx.record({ type: 'skip', ...s });
  }
  const skipped = new Set(p.skips.map((s) => s.scenario));
  const run = (s) => opts.scenarios.includes(s) && !skipped.has(s);

  console.log(`Plan: ${opts.scenarios.filter(run).join(', ')}; ${opts.reps} rep(s), ${opts.duration} s at ${opts.conns} connections + ${opts.c1Duration} s at 1, ` +
    `Switchyard ${opts.workers} worker(s)${p.fileSource ? ' (vhosts file source)' : ' (Redis source)'}; work dir ${work}`);
  console.log(`Results: ${relative(process.cwd(), jsonl)} and ${relative(process.cwd(), mdFile)}\n`);

  // Shared servers for the whole run.
  if (ctx.have.redis) {
    ctx.redis = (await startRedis(ctx)).client;
    ctx.seedRoutes = async () => {
      for (const [host, url] of Object.entries(routes(ports))) {
        await ctx.redis.cmd('DEL', `frontend:${host}`);
        await ctx.redis.cmd('RPUSH', `frontend:${host}`, host.split('.')[0], url);
      }
    };
    await ctx.seedRoutes();
  } else {
    ctx.fileSourceDir = join(work, 'vhosts-main');
    initVhostsDir(ctx.fileSourceDir, 'rename', vhostsYaml(routes(ports)));
  }
  await startBackend(ctx);
  if (found.have.ws) await startWsEcho(ctx);
  if (TLS_SCENARIOS.some(run)) {
    ctx.tls = await makeCert(work, opts.tlsKey);
    ctx.log(`TLS certificate (${opts.tlsKey === 'rsa' ? 'RSA 2048' : 'EC P-256'}, CN bench.local): ${ctx.tls.cert}`);
  }

  const t0 = Date.now();
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const name of [...Object.keys(HTTP_SCENARIOS), 'ws', ...TLS_SCENARIOS]) {
      if (!run(name)) continue;
      ctx.log(`${name}: rep ${rep}/${opts.reps}`);
      if (name === 'ws') await runWsScenario(ctx, rep);
      else if (TLS_SCENARIOS.includes(name)) await runTlsScenario(ctx, name, rep);
      else await runHttpScenario(ctx, name, rep);
    }
  }
  if (run('hosts')) await runHostsScenario(ctx);
  if (run('paths')) await runPathsScenario(ctx);
  if (run('propagation')) {
    ctx.log('propagation');
    await runPropagationScenario(ctx);
  }
  ctx.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  ctx.record({ type: 'end', wall_s: (Date.now() - t0) / 1000, retries_used: opts.retryBudget - ctx.retryBudget });
  const md = report(records);
  writeFileSync(mdFile, md);
  copyFileSync(mdFile, join(outDir, 'latest.md'));
  console.log(`\n${md}`);
  console.log(`Raw results: ${relative(process.cwd(), jsonl)}\nTable: ${relative(process.cwd(), mdFile)} (also latest.md)`);
  return failures ? 1 : 0;
}

// The work directory (configs, logs, vhosts files) goes away after a clean run.
const cleanup = { work: null, keep: false };
let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`\nbench: ${err.message}`);
} finally {
  await stopAll();
}
if (cleanup.work) {
  if (code === 0 && !cleanup.keep) rmSync(cleanup.work, { recursive: true, force: true });
  else console.error(`Configs and logs kept in ${cleanup.work}`);
}
process.exit(code);
