// tls / tls-new / tls-resumed / h2: Switchyard's HTTPS listener with the
// certificate made for this run (lib/tls.js), beside nginx with the same
// certificate and a bare node:https server answering by itself (the floor of
// any Node proxy, tools/tls-floor.js).
//   * tls: keep-alive GETs over TLS (wrk https://); reference nginx, floor extra.
//   * tls-new: one GET per new connection, every one a full handshake
//     (openssl s_time -new, --tls-clients side by side); reference the floor, nginx extra.
//   * tls-resumed: the same, every connection resuming the session (s_time -reuse).
//   * h2: HTTP/2 over TLS, --h2-conns connections x --h2-streams streams (h2load);
//     reference nginx. A target that does not negotiate h2 is recorded as skipped.

import { httpLoad } from '../lib/load.js';
import { measure } from '../lib/measure.js';
import { get } from '../lib/procs.js';
import { sTime, h2Load, NoH2Error } from '../lib/tls-load.js';
import { switchyardTargets, nginxTarget, tlsFloorTarget, interleave } from './targets.js';
import { fmtRun } from './http.js';

export const TLS_SCENARIOS = ['tls', 'tls-new', 'tls-resumed', 'h2'];

function targetsFor(ctx, name) {
  const targets = switchyardTargets(ctx, { tls: true });
  const floorRef = name === 'tls-new' || name === 'tls-resumed';
  if (name !== 'h2') targets.push(tlsFloorTarget(ctx, { role: floorRef ? 'reference' : 'extra' }));
  if (ctx.have.nginx) targets.push(nginxTarget(ctx, { tls: true, role: floorRef ? 'extra' : 'reference' }));
  return targets;
}

/** The three runs (warm-up, loaded, 1 connection) of a scenario against a started target. */
async function loads(ctx, name, label, h) {
  const o = ctx.opts;
  const host = 'bench.local';
  if (name === 'tls') {
    const base = { tool: 'wrk', scheme: 'https', port: h.port, threads: o.wrkThreads, host, path: '/', kind: 'get' };
    await httpLoad({ ...base, conns: o.conns, seconds: o.warmup });
    const cN = await measure(ctx, `${label} c${o.conns}`, h.pid, () => httpLoad({ ...base, conns: o.conns, seconds: o.duration }));
    const c1 = await measure(ctx, `${label} c1`, h.pid, () => httpLoad({ ...base, conns: 1, seconds: o.c1Duration }));
    return { cN, c1 };
  }
  if (name === 'h2') {
    const base = { port: h.port, host, path: '/' };
    await h2Load({ ...base, conns: o.h2Conns, streams: o.h2Streams, seconds: Math.max(1, o.warmup) });
    const cN = await measure(ctx, `${label} ${o.h2Conns}x${o.h2Streams}`, h.pid,
      () => h2Load({ ...base, conns: o.h2Conns, streams: o.h2Streams, seconds: o.duration }));
    const c1 = await measure(ctx, `${label} 1x1`, h.pid, () => h2Load({ ...base, conns: 1, streams: 1, seconds: o.c1Duration }));
    return { cN, c1 };
  }
  const mode = name === 'tls-new' ? 'new' : 'reuse';
  // s_time counts whole seconds: at least 1.
  const secs = (x) => Math.max(1, Math.round(x));
  await sTime({ port: h.port, host, clients: o.tlsClients, seconds: secs(o.warmup), mode });
  const cN = await measure(ctx, `${label} ${o.tlsClients} clients`, h.pid,
    () => sTime({ port: h.port, host, clients: o.tlsClients, seconds: secs(o.duration), mode }));
  const c1 = await measure(ctx, `${label} 1 client`, h.pid, () => sTime({ port: h.port, host, clients: 1, seconds: secs(o.c1Duration), mode }));
  // What the scenario promises: tls-new resumes nothing, tls-resumed resumes (almost) everything.
  const resumedShare = cN.resumed / Math.max(1, cN.resumed + cN.full);
  if (mode === 'new' && cN.resumed > 0) throw new Error(`tls-new: s_time resumed ${cN.resumed} of ${cN.requests} connections`);
  if (mode === 'reuse' && resumedShare < 0.9) {
    throw new Error(`tls-resumed: only ${cN.resumed} of ${cN.resumed + cN.full} connections resumed (session tickets/cache not working?)`);
  }
  return { cN, c1 };
}

export async function runTlsScenario(ctx, name, rep) {
  for (const t of interleave(targetsFor(ctx, name), rep)) {
    const label = `${name} ${t.name} rep ${rep}`;
    ctx.log(`  ${label}`);
    let h;
    try {
      h = await t.start();
      const probe = await get(h.port, 'bench.local', '/', { tls: true, timeoutMs: 2000 });
      if (probe.status !== 200) throw new Error(`${t.name} answered ${probe.status || probe.body} for GET / over TLS`);
      const runs = await loads(ctx, name, label, h);
      ctx.record({ type: 'run', scenario: name, target: t.name, role: t.role, rep, ready_s: h.readyS, tls_key: ctx.tls.kind, ...runs });
      ctx.log(`    ${fmtRun(runs)}${runs.cN.resumed !== undefined ? ` | resumed ${runs.cN.resumed}/${runs.cN.resumed + runs.cN.full}` : ''}`);
    } catch (err) {
      if (err instanceof NoH2Error) {
        ctx.log(`    skipped ${name} ${t.name}: ${err.message}`);
        ctx.record({ type: 'skip', scenario: name, target: t.name, rep, reason: err.message });
      } else ctx.fail(name, t.name, err);
    } finally {
      if (h) await t.stop(h);
    }
  }
}
