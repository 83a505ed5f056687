// paths-K: one host with K path-prefix frontends in Redis
// (frontend:paths.scale.test/p<i>, SPEC §9) besides its own frontend; every
// request asks for a random /p<i>/item (wrk/random-path.lua), so each takes
// a different prefix. The reference is the same Switchyard, same start,
// same random paths, on a host without path frontends: the ratio is what
// finding the longest prefix among K costs a request.

import { loadRuns, fmtRun } from './http.js';
import { switchyardTarget } from './targets.js';

const HOST = 'paths.scale.test';
export const pathsLabel = (K) => `paths-${K >= 1000 && K % 1000 === 0 ? `${K / 1000}k` : K}`;

/** FLUSHALL, the usual routes, then HOST and its K prefixes, each to the backend. */
async function loadPrefixes(ctx, K) {
  const redis = ctx.redis;
  const backend = `http://127.0.0.1:${ctx.ports.backend}`;
  await redis.cmd('FLUSHALL');
  await ctx.seedRoutes();
  const writes = [redis.cmd('RPUSH', `frontend:${HOST}`, 'paths', backend)];
  for (let i = 0; i < K; i++) writes.push(redis.cmd('RPUSH', `frontend:${HOST}/p${i}`, `p${i}`, backend));
  await Promise.all(writes);
}

export async function runPathsScenario(ctx) {
  const o = ctx.opts;
  for (const K of o.prefixes) {
    const scenario = pathsLabel(K);
    ctx.log(`${scenario}: ${K} path frontends under ${HOST}`);
    try {
      await loadPrefixes(ctx, K);
    } catch (err) {
      ctx.fail(scenario, 'redis', err);
      continue;
    }
    const t = switchyardTarget(ctx, { readyHost: HOST });
    const loads = [
      { target: `${t.name}, ${K} prefixes`, role: 'candidate', host: HOST },
      { target: `${t.name}, host without paths`, role: 'reference', host: 'bench.local' },
    ];
    for (let rep = 1; rep <= o.reps; rep++) {
      let h;
      try {
        h = await t.start();
        // Alternated per rep, so neither load always runs on the warmer process.
        for (const load of rep % 2 ? loads : [...loads].reverse()) {
          const label = `${scenario} ${load.target} rep ${rep}`;
          ctx.log(`  ${label}`);
          const runs = await loadRuns(ctx, label, h, { host: load.host, kind: 'random-path', hosts: K });
          ctx.record({ type: 'run', scenario, K, target: load.target, role: load.role, rep, ready_s: h.readyS, ...runs });
          ctx.log(`    ${fmtRun(runs)}`);
        }
      } catch (err) {
        ctx.fail(scenario, t.name, err);
      } finally {
        if (h) await t.stop(h);
      }
    }
  }
  await ctx.redis.cmd('FLUSHALL');
  await ctx.seedRoutes();
}
