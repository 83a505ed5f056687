// ws: WebSocket echo round trips per second through Switchyard, against a
// direct connection to the echo backend (the reference) and, when installed,
// through nginx. --ws-conns sockets ping-pong for --duration, then 1 socket
// for --c1-duration (unloaded round-trip latency).

import { join } from 'node:path';
import { run } from '../lib/procs.js';
import { measure } from '../lib/measure.js';
import { switchyardTargets, nginxTarget, directTarget, interleave } from './targets.js';
import { fmtRun } from './http.js';

async function wsLoad(ctx, port, conns, seconds) {
  const spec = { port, host: 'ws.bench', conns, seconds, size: ctx.opts.wsSize };
  const tool = join(ctx.benchDir, 'tools', 'ws-load.js');
  const r = await run(process.execPath, [tool, JSON.stringify(spec)], { timeoutMs: (seconds + 20) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('WSJSON '));
  if (!line) throw new Error(`ws-load produced no result: ${(r.stderr || r.stdout).slice(0, 400)}`);
  const j = JSON.parse(line.slice(7));
  if (j.connected < conns) throw new Error(`only ${j.connected}/${conns} WebSockets connected`);
  return j;
}

export async function runWsScenario(ctx, rep) {
  const o = ctx.opts;
  const targets = [directTarget('direct (echo backend)', ctx.ports.wsEcho), ...switchyardTargets(ctx)];
  if (ctx.have.nginx) targets.push(nginxTarget(ctx, { role: 'extra' }));
  for (const t of interleave(targets, rep)) {
    const label = `ws ${t.name} rep ${rep}`;
    ctx.log(`  ${label}`);
    let h;
    try {
      h = await t.start();
      await wsLoad(ctx, h.port, o.wsConns, o.warmup);
      const cN = await measure(ctx, `${label} ${o.wsConns} sockets`, h.pid, () => wsLoad(ctx, h.port, o.wsConns, o.duration));
      const c1 = await measure(ctx, `${label} 1 socket`, h.pid, () => wsLoad(ctx, h.port, 1, o.c1Duration));
      const runs = { cN, c1 };
      ctx.record({ type: 'run', scenario: 'ws', target: t.name, role: t.role, rep, ready_s: h.readyS, ...runs });
      ctx.log(`    ${fmtRun(runs)}`);
    } catch (err) {
      ctx.fail('ws', t.name, err);
    } finally {
      if (h) await t.stop(h);
    }
  }
}
