// small / 64k / 1m / post1k: the same backend behind Switchyard and behind the
// nginx reference, a warm-up, then wrk at --conns connections (throughput,
// p50/p99, peak RSS, CPU per request) and at 1 connection (unloaded latency).

import { httpLoad } from '../lib/load.js';
import { measure } from '../lib/measure.js';
import { get } from '../lib/procs.js';
import { switchyardTargets, nginxTarget, interleave } from './targets.js';

export const HTTP_SCENARIOS = {
  small: { path: '/', kind: 'get', bytes: 13 },
  '64k': { path: '/64k', kind: 'get', bytes: 64 * 1024 },
  '1m': { path: '/1m', kind: 'get', bytes: 1024 * 1024 },
  post1k: { path: '/', kind: 'post1k', bytes: 13 },
};

export function httpTargets(ctx) {
  const targets = switchyardTargets(ctx);
  if (ctx.have.nginx) targets.push(nginxTarget(ctx));
  return targets;
}

/**
 * Warm-up + c=N + c=1 against a started target; returns the run record.
 * `load` gives the httpLoad options shared by all three.
 */
export async function loadRuns(ctx, label, h, load) {
  const o = ctx.opts;
  const base = { tool: ctx.loadTool, port: h.port, threads: o.wrkThreads, ...load };
  await httpLoad({ ...base, conns: o.conns, seconds: o.warmup });
  const cN = await measure(ctx, `${label} c${o.conns}`, h.pid, () => httpLoad({ ...base, conns: o.conns, seconds: o.duration }));
  const c1 = await measure(ctx, `${label} c1`, h.pid, () => httpLoad({ ...base, conns: 1, seconds: o.c1Duration }));
  return { cN, c1 };
}

export async function runHttpScenario(ctx, name, rep) {
  const sc = HTTP_SCENARIOS[name];
  for (const t of interleave(httpTargets(ctx), rep)) {
    const label = `${name} ${t.name} rep ${rep}`;
    ctx.log(`  ${label}`);
    let h;
    try {
      h = await t.start();
      const probe = await get(h.port, 'bench.local', sc.path);
      if (probe.status !== 200) throw new Error(`${t.name} answered ${probe.status} for GET ${sc.path}`);
      const runs = await loadRuns(ctx, label, h, { host: 'bench.local', path: sc.path, kind: sc.kind });
      ctx.record({ type: 'run', scenario: name, target: t.name, role: t.role, rep, ready_s: h.readyS, ...runs });
      ctx.log(`    ${fmtRun(runs)}`);
    } catch (err) {
      ctx.fail(name, t.name, err);
    } finally {
      if (h) await t.stop(h);
    }
  }
}

export function fmtRun({ cN, c1 }) {
  const n = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const rate = cN.rps ?? cN.rate;
  return `loaded: ${n(rate)}/s p50 ${n(cN.p50_us / 1000, 2)} ms p99 ${n(cN.p99_us / 1000, 2)} ms ` +
    `rss ${n(cN.rss_peak_kb / 1024, 1)} MiB cpu ${n(cN.cpu_us_per_req, 1)} us/req foreign ${cN.foreign_cores}` +
    `${cN.non2xx || cN.errors ? ` non-2xx ${cN.non2xx ?? 0} errors ${cN.errors}` : ''} | ` +
    `c1: p50 ${n(c1.p50_us / 1000, 3)} ms p99 ${n(c1.p99_us / 1000, 3)} ms`;
}
