// Load generators of the TLS scenarios, bounded in time like the others
// (their own duration, plus a hard kill 20 s later):
//   * sTime: `openssl s_time -new` (every connection a full handshake) or
//     `-reuse` (every connection after the first resumes the session), one
//     GET each, answered then closed (Connection: close). s_time runs one
//     connection at a time, so `clients` run side by side and their counts add.
//   * h2load (nghttp2-client): HTTP/2 over TLS, few connections, many streams.

import { run } from './procs.js';

/**
 * s_time sends `GET <page> HTTP/1.0\r\n\r\n` and reads to the end; it sends no
 * Host and no SNI, so the page carries them: the request becomes
 * `GET / HTTP/1.1`, `Host`, `Connection: close`, then `X-Pad: HTTP/1.0`.
 */
function sTimePage(host, path) {
  return `${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nX-Pad:`;
}

/**
 * @returns {{ requests, seconds, rps, bytes, p50_us, p99_us, mean_us, non2xx, errors, clients }}
 * requests = connections (one request each); mean_us = wall time per connection of one client;
 * resumed / full = connections s_time saw resumed / fully negotiated (its progress characters).
 */
export async function sTime({ port, host, path = '/', clients, seconds, mode }) {
  const args = ['s_time', '-connect', `127.0.0.1:${port}`, mode === 'reuse' ? '-reuse' : '-new', '-time', String(seconds), '-www', sTimePage(host, path)];
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, async () => {
    const r = await run('openssl', args, { timeoutMs: (seconds + 20) * 1000 });
    return { ...r, wall: (performance.now() - t0) / 1000 };
  }));
  let requests = 0;
  let bytes = 0;
  let wall = 0;
  let resumed = 0;
  let full = 0;
  for (const r of results) {
    // Progress: one character a connection, 'r' when the session was resumed, '*' when not.
    for (const line of r.stdout.split('\n')) {
      if (!/^[*r]+$/.test(line)) continue;
      for (const ch of line) if (ch === 'r') resumed++; else full++;
    }
    // "<n> connections in <t>s; <r> connections/user sec, bytes read <b>" (the user-CPU line: its count and bytes are what we take)
    const m = /(\d+) connections in [\d.]+s; [\d.]+ connections\/user sec, bytes read (\d+)/.exec(r.stdout);
    if (!m) throw new Error(`openssl s_time ${mode} produced no result${r.timedOut ? ' (killed: over time)' : ''}: ${(r.stderr || r.stdout).replace(/[*r]{20,}/g, '').slice(0, 300)}`);
    requests += Number(m[1]);
    bytes += Number(m[2]);
    wall = Math.max(wall, r.wall);
  }
  if (!requests) throw new Error(`openssl s_time ${mode}: no connection completed`);
  // s_time stops at a whole-second boundary of the wall clock: the rate is over the wall time of the slowest client.
  return {
    requests, seconds: wall, rps: requests / wall, bytes, p50_us: NaN, p99_us: NaN,
    mean_us: (wall * 1e6 * clients) / requests, non2xx: 0, errors: 0, clients, resumed, full,
  };
}

/** Thrown when the server did not negotiate h2 (ALPN): a skip, not a failure. */
export class NoH2Error extends Error {}

const UNITS = { us: 1, ms: 1000, s: 1e6 };
const toUs = (v, u) => Number(v) * UNITS[u];

/** h2load -D seconds -c conns -m streams; resolves the normalised record (p50/p99 unknown: h2load gives min/max/mean). */
export async function h2Load({ port, host, path = '/', conns, streams, seconds, warmup = 0 }) {
  const args = ['-D', String(seconds), '-c', String(conns), '-m', String(streams), '-t', '1',
    ...(warmup ? ['--warm-up-time', String(warmup)] : []), '-H', `:authority: ${host}`, `https://127.0.0.1:${port}${path}`];
  const r = await run('h2load', args, { timeoutMs: (seconds + warmup + 20) * 1000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const proto = /Application protocol: (\S+)/.exec(out)?.[1];
  if (proto && proto !== 'h2') throw new NoH2Error(`no HTTP/2: the server negotiated ${proto} over ALPN (h2load would fall back to it)`);
  if (/No protocol negotiated/i.test(out)) throw new NoH2Error('no HTTP/2: no protocol negotiated over ALPN');
  const fin = /finished in ([\d.]+)s, ([\d.]+) req\/s, .*/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const traffic = /traffic: .*?\((\d+)\) total/.exec(out);
  const lat = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  if (!fin || !req) throw new Error(`h2load produced no result${r.timedOut ? ' (killed: over time)' : ''}: ${out.slice(-400)}`);
  const succeeded = Number(req[4]);
  if (!succeeded) throw new Error(`h2load: no request succeeded (${req[0]})`);
  return {
    requests: succeeded,
    seconds: Number(fin[1]),
    rps: succeeded / Number(fin[1]),
    bytes: traffic ? Number(traffic[1]) : NaN,
    p50_us: NaN,
    p99_us: NaN,
    mean_us: lat ? toUs(lat[5], lat[6]) : NaN,
    max_us: lat ? toUs(lat[3], lat[4]) : NaN,
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0,
    errors: Number(req[5]) + Number(req[6]) + Number(req[7]),
    protocol: proto ?? 'h2',
  };
}
