// The things a scenario measures, as targets: start() -> { child, port, readyS },
// stop(handle). "role" decides where a row sits in the table: the reference
// of a scenario is what the candidate's ratios are computed against.

import { stop } from '../lib/procs.js';
import { startNginxRef, startSwitchyard, startTlsFloor } from '../lib/servers.js';

/**
 * Stops a proxy; says so when it needed SIGKILL (it did not finish its
 * SIGTERM drain within the grace period although the load had ended).
 */
async function stopTarget(ctx, name, child) {
  const r = await stop(child);
  if (r.killed) ctx.log(`    note: ${name} had not exited ${r.seconds.toFixed(1)} s after SIGTERM (idle, load over): killed`);
}

export function switchyardTarget(ctx, { workers = ctx.opts.workers, readyHost, readyTimeoutMs, file, root, tls = false } = {}) {
  const port = tls ? ctx.ports.switchyardTls : ctx.ports.switchyard;
  return {
    name: root ? 'switchyard-baseline' : `switchyard-w${workers}`,
    role: root ? 'extra' : 'candidate',
    port,
    async start() {
      const h = await startSwitchyard(ctx, { workers, file: file ?? ctx.fileSourceDir, readyHost, readyTimeoutMs, root, tls });
      return { ...h, port, pid: h.child.pid };
    },
    stop(h) {
      return stopTarget(ctx, this.name, h.child);
    },
  };
}

export function nginxTarget(ctx, { catchAll = false, role = 'reference', readyHost, tls = false } = {}) {
  const port = tls ? ctx.ports.nginxTls : ctx.ports.nginxRef;
  return {
    name: `nginx-w${ctx.opts.refWorkers}${catchAll ? ' (catch-all)' : ''}`,
    role,
    port,
    async start() {
      const h = await startNginxRef(ctx, { catchAll, readyHost, tls });
      return { ...h, port, pid: h.child.pid };
    },
    stop(h) {
      return stopTarget(ctx, this.name, h.child);
    },
  };
}

/** The TLS floor: a bare node:https server answering by itself (tools/tls-floor.js). */
export function tlsFloorTarget(ctx, { role = 'reference' } = {}) {
  return {
    name: 'node-https (floor)',
    role,
    port: ctx.ports.tlsFloor,
    async start() {
      const h = await startTlsFloor(ctx);
      return { ...h, port: ctx.ports.tlsFloor, pid: h.child.pid };
    },
    stop(h) {
      return stopTarget(ctx, this.name, h.child);
    },
  };
}

/** The candidate, and the --baseline build beside it when one is given (tls: on its HTTPS listener). */
export function switchyardTargets(ctx, { tls = false } = {}) {
  const targets = [switchyardTarget(ctx, { tls })];
  if (ctx.opts.baseline) targets.push(switchyardTarget(ctx, { root: ctx.opts.baseline, tls }));
  return targets;
}

/** A server already running (e.g. the echo backend), measured directly: no process tree of a proxy. */
export function directTarget(name, port) {
  return {
    name,
    role: 'reference',
    port,
    async start() {
      return { port, pid: null, readyS: NaN };
    },
    async stop() {},
  };
}

/**
 * Reference first on even reps, candidate first on odd ones, and the
 * candidate and its --baseline swap places every rep: drift hits all alike
 * (with an even number of reps, each is measured first as often as second).
 */
export function interleave(targets, rep) {
  const cand = targets.filter((t) => t.role === 'candidate' || t.name === 'switchyard-baseline');
  const rest = targets.filter((t) => !cand.includes(t));
  const ordered = rep % 2 ? cand : [...cand].reverse();
  return rep % 2 ? [...ordered, ...rest] : [...rest, ...ordered];
}
