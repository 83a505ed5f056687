// propagation: how soon a configuration change is served, with 1 and 2 workers.
//   Redis: write -> first request served by the new route (add, change,
//          delete, add-after-miss), and the read-your-writes fraction.
//   File:  save -> first request served by the new route, for an in-place
//          write, a save by rename and a Kubernetes-style `..data` symlink swap.
// The measuring runs in tools/propagation.js (its own process, with backends
// A and B); here: start Switchyard on the right source, run it, record.

import { join } from 'node:path';
import { run } from '../lib/procs.js';
import { measure } from '../lib/measure.js';
import { initVhostsDir, vhostsYaml, SAVE_MODES } from '../lib/vhosts-files.js';
import { switchyardTarget } from './targets.js';

async function probe(ctx, spec) {
  const tool = join(ctx.benchDir, 'tools', 'propagation.js');
  const maxWallS = spec.maxWallS;
  const r = await run(process.execPath, [tool, JSON.stringify(spec)], { timeoutMs: (maxWallS + 30) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('PROPJSON '));
  if (!line) throw new Error(`propagation probe produced no result${r.timedOut ? ' (over time)' : ''}: ${(r.stderr || r.stdout).slice(0, 400)}`);
  const j = JSON.parse(line.slice(9));
  const attempts = Object.values(j.scenarios).reduce((a, s) => a + s.attemptsMean * s.trials, 0);
  return { ...j, requests: Math.round(attempts) };
}

async function runOne(ctx, { source, workers, save, conn = 'new' }) {
  const o = ctx.opts;
  const scenario = source === 'redis' ? 'prop-redis' : `prop-file-${save}`;
  const dir = join(ctx.work, `vhosts-${save ?? 'redis'}-w${workers}`);
  const base = { proxyPort: ctx.ports.switchyard, aPort: ctx.ports.propA, bPort: ctx.ports.propB, conn, timeoutMs: 5000 };
  let spec;
  let seqStart = 1;
  if (source === 'file') {
    const baseHosts = { 'bench.local': `http://127.0.0.1:${ctx.ports.backend}` };
    initVhostsDir(dir, save, vhostsYaml({ ...baseHosts, 'prop.file.test': `http://127.0.0.1:${ctx.ports.propA}` }));
    spec = { ...base, mode: 'file', dir, save, baseHosts, n: o.propFileN, gapMs: 20, maxWallS: 30 + o.propFileN * 2 };
  } else {
    spec = { ...base, mode: 'redis', redisPort: ctx.ports.redis, n: o.propRedisN, maxWallS: 30 + o.propRedisN * 2 };
  }
  const t = switchyardTarget(ctx, { workers, file: source === 'file' ? dir : null });
  const target = `${t.name} ${source === 'file' ? `file (${save})` : `redis (${conn === 'new' ? 'new connections' : 'keep-alive'})`}`;
  ctx.log(`  ${target}: ${spec.n} trials`);
  let h;
  try {
    h = await t.start();
    const res = await measure(ctx, target, h.pid, async () => {
      const r = await probe(ctx, { ...spec, seqStart });
      seqStart += spec.n; // a rerun continues alternating A/B (and the symlink versions)
      return r;
    });
    for (const [op, s] of Object.entries(res.scenarios)) {
      const rec = { type: 'prop', scenario: source === 'redis' ? `prop-redis-${op}` : scenario, source, op, workers,
        target: source === 'redis' ? `${t.name} ${conn === 'new' ? 'new conn.' : 'keep-alive'}` : t.name, conn, role: 'candidate', ...s, aborted: res.aborted, rss_peak_kb: res.rss_peak_kb,
        cpu_cores: res.cpu_cores, foreign_cores: res.foreign_cores, disturbed: res.disturbed, attempts: res.attempts };
      ctx.record(rec);
      const f = (x) => (x === null || x === undefined ? '-' : x.toFixed(2));
      ctx.log(`    ${op}: p50 ${f(s.p50_ms)} ms p99 ${f(s.p99_ms)} ms, first request ok ${s.firstOk}/${s.trials}, timeouts ${s.timeouts}` +
        `${s.lastFailure ? ` (last failure: ${s.lastFailure})` : ''}`);
    }
    if (res.aborted) ctx.log(`    stopped early: ${res.aborted}`);
  } catch (err) {
    ctx.fail(scenario, t.name, err);
  } finally {
    if (h) await t.stop(h);
  }
}

export async function runPropagationScenario(ctx) {
  for (const workers of ctx.opts.propWorkers) {
    if (ctx.have.redis) for (const conn of ctx.opts.propConn) await runOne(ctx, { source: 'redis', workers, conn });
    for (const save of SAVE_MODES) await runOne(ctx, { source: 'file', workers, save });
  }
}
