// hosts: K frontends in Redis (loaded with `redis-cli --pipe`, as the shared
// harness's gen-frontends.js does), every request with a random one of the K
// Hosts (wrk + random-host.lua). Per start: ready time (process start -> first
// 2xx on a random loaded host), RSS per worker idle (IDLE_S after ready, no
// load yet) and under load. The reference is nginx with
// a catch-all server (it does no per-host lookup), so the ratio shows what
// routing among K hosts costs on top of proxying.

import { run, sleep } from '../lib/procs.js';
import { rssKb, treePids } from '../lib/proc-stats.js';
import { frontendsResp } from '../lib/resp.js';
import { loadRuns, fmtRun } from './http.js';
import { switchyardTarget, nginxTarget, interleave } from './targets.js';

/** Seconds after ready at which the idle worker's RSS is read (the issue's "idle" figure). */
const IDLE_S = 5;

/** The largest worker's RSS, in KiB (the master excluded). */
function workerRssKb(rootPid) {
  return Math.max(0, ...[...treePids([rootPid])].filter((pid) => pid !== rootPid).map(rssKb));
}

const randomHost = (K) => () => `h${Math.floor(Math.random() * K)}.scale.test`;
export const hostsLabel = (K) => `hosts-${K >= 1e6 && K % 1e6 === 0 ? `${K / 1e6}M` : K >= 1000 && K % 1000 === 0 ? `${K / 1000}k` : K}`;

/** FLUSHALL, then K frontends through `redis-cli --pipe`; returns seconds and Redis' memory. */
async function loadFrontends(ctx, K) {
  const redis = ctx.redis;
  await redis.cmd('FLUSHALL');
  const feed = (stdin) => {
    const chunks = frontendsResp(K, `http://127.0.0.1:${ctx.ports.backend}`);
    const pump = () => {
      for (;;) {
        const { value, done } = chunks.next();
        if (done) return stdin.end();
        if (!stdin.write(value)) return stdin.once('drain', pump);
      }
    };
    stdin.on('error', () => {});
    pump();
  };
  const t0 = performance.now();
  const r = await run('redis-cli', ['-p', String(ctx.ports.redis), '--pipe'], { input: feed, timeoutMs: 600_000 });
  const loadS = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`redis-cli --pipe failed: ${(r.stderr || r.stdout).slice(0, 300)}`);
  await ctx.seedRoutes();
  const dbsize = await redis.cmd('DBSIZE');
  const mem = /used_memory:(\d+)/.exec(await redis.cmd('INFO', 'memory'))?.[1];
  return { load_s: loadS, dbsize, redis_used_memory: Number(mem) };
}

export async function runHostsScenario(ctx) {
  const o = ctx.opts;
  for (const K of o.frontends) {
    const scenario = hostsLabel(K);
    ctx.log(`${scenario}: loading ${K} frontends into redis`);
    let loaded;
    try {
      loaded = await loadFrontends(ctx, K);
    } catch (err) {
      ctx.fail(scenario, 'redis', err);
      continue;
    }
    ctx.record({ type: 'load', scenario, K, ...loaded });
    ctx.log(`  loaded in ${loaded.load_s.toFixed(2)} s, dbsize ${loaded.dbsize}, redis used_memory ${(loaded.redis_used_memory / 2 ** 20).toFixed(0)} MiB`);
    const readyTimeoutMs = Math.max(60_000, K / 1000 * 600); // 10 min for 1M: bounded, and generous
    const targets = [switchyardTarget(ctx, { readyHost: randomHost(K), readyTimeoutMs })];
    if (ctx.have.nginx) targets.push(nginxTarget(ctx, { catchAll: true, readyHost: randomHost(K) }));
    const broken = new Set(); // a target that could not start for this K is not retried every rep
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const t of interleave(targets, rep)) {
        if (broken.has(t.name)) continue;
        const label = `${scenario} ${t.name} rep ${rep}`;
        ctx.log(`  ${label}`);
        let h;
        try {
          h = await t.start().catch((err) => {
            broken.add(t.name);
            throw err;
          });
          let idleKb;
          if (t.role === 'candidate') {
            await sleep(IDLE_S * 1000 - h.readyS * 1000);
            idleKb = workerRssKb(h.pid);
            ctx.log(`    ready in ${h.readyS.toFixed(2)} s; idle worker ${(idleKb / 1024).toFixed(1)} MiB at ${IDLE_S} s after start`);
          } else ctx.log(`    ready in ${h.readyS.toFixed(2)} s`);
          const runs = await loadRuns(ctx, label, h, { host: 'bench.local', kind: 'random-host', hosts: K });
          ctx.record({ type: 'run', scenario, K, target: t.name, role: t.role, rep, ready_s: h.readyS, idle_rss_worker_kb: idleKb, ...runs });
          ctx.log(`    ${fmtRun(runs)}`);
        } catch (err) {
          ctx.fail(scenario, t.name, err);
        } finally {
          if (h) await t.stop(h);
        }
      }
    }
  }
  // leave Redis as the other scenarios expect it
  await ctx.redis.cmd('FLUSHALL');
  await ctx.seedRoutes();
}
