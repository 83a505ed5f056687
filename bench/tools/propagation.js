#!/usr/bin/env node
// Config-propagation latency through a running proxy, in two modes. After each
// change, t0 = the moment the change is complete (Redis reply received / file
// saved), then requests are sent back to back (no sleep) until the expected
// answer comes; latency = t0 -> expected response received (so it includes one
// request round trip). "firstOk" = the very first request already saw the
// change (read-your-writes). Each trial gives up after --timeout-ms.
//
//   --mode redis  (logic of the shared harness's propagation.js)
//       add            RPUSH frontend:<new host> id http://A       -> 2xx body "A"
//       change         MULTI DEL + RPUSH frontend:<host> id http://B -> 2xx body "B"
//       delete         DEL frontend:<host>                         -> 400 or 404
//       add-after-miss request the unknown host once (primes negative caches), RPUSH -> "A"
//   --mode file --dir D --save inplace|rename|symlink
//       the vhosts file in D routes prop.file.test to A; each trial saves it
//       routing to the other backend (B, A, B, ...) and waits for that body.
//
// By default every request opens a new connection (--conn new), so with several
// workers the requests spread over them; --conn keepalive uses one connection.
// Prints one "PROPJSON {...}" line. Backends A and B (bodies "A"/"B") run here.
// Usage: node propagation.js '{"mode":"redis","proxyPort":19110,"redisPort":6392,"n":200,
//          "aPort":19120,"bPort":19121,"timeoutMs":5000,"conn":"new"}'
//        node propagation.js '{"mode":"file","dir":"/tmp/x","save":"rename","baseHosts":{...},...}'

import http from 'node:http';
import { Redis } from '../lib/resp.js';
import { saveVhosts, vhostsYaml } from '../lib/vhosts-files.js';

const spec = JSON.parse(process.argv[2]);
const TIMEOUT_MS = spec.timeoutMs ?? 5000;
const GONE = [400, 404];
const RUN_ID = Date.now().toString(36);
const agent = spec.conn === 'keepalive' ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;

function get(host) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: spec.proxyPort, path: '/', agent, headers: { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function backend(port, body) {
  return new Promise((resolve, reject) => {
    const s = http.createServer((q, r) => {
      q.resume();
      r.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      r.end(body);
    });
    s.keepAliveTimeout = 60_000;
    s.on('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** Requests until check(res); measurements relative to t0. */
async function waitFor(host, check, t0) {
  let attempts = 0;
  let firstOk = null;
  for (;;) {
    const res = await get(host);
    const t = performance.now();
    attempts++;
    const ok = check(res);
    firstOk ??= ok;
    if (ok) return { ok: true, firstOk, attempts, ms: t - t0 };
    if (t - t0 > TIMEOUT_MS) return { ok: false, firstOk, attempts, ms: t - t0, last: `${res.status} ${res.body.slice(0, 80)}` };
  }
}

// Bounded: stop after 3 trials in a row with a timeout (the proxy is not
// following changes) or past maxWallS.
let consecutiveTimeouts = 0;
let aborted = null;
let timeoutsSeen = 0;
const tStart = performance.now();
function keepGoing(results) {
  const timeouts = Object.values(results).flat().filter((r) => !r.ok).length;
  consecutiveTimeouts = timeouts > timeoutsSeen ? consecutiveTimeouts + 1 : 0;
  timeoutsSeen = timeouts;
  if (consecutiveTimeouts >= 3) aborted = '3 consecutive timeouts';
  else if ((performance.now() - tStart) / 1000 > (spec.maxWallS ?? 600)) aborted = `over ${spec.maxWallS ?? 600} s`;
  return aborted === null;
}

const is = (body) => (r) => r.status >= 200 && r.status < 300 && r.body === body;
const isGone = (r) => GONE.includes(r.status);

async function redisTrials(results) {
  const redis = new Redis(spec.redisPort);
  await redis.ready;
  const urlA = `http://127.0.0.1:${spec.aPort}`;
  const urlB = `http://127.0.0.1:${spec.bPort}`;
  for (const k of ['frontend:*', 'frontend:*.test', 'frontend:*.prop.test']) {
    if (await redis.cmd('EXISTS', k)) throw new Error(`redis has ${k}; it would route the test hosts`);
  }
  for (let i = 0; i < spec.n; i++) {
    const host = `t${i}-${RUN_ID}.prop.test`;
    const key = `frontend:${host}`;
    await redis.cmd('RPUSH', key, host, urlA);
    let r = await waitFor(host, is('A'), performance.now());
    results.add.push(r);
    if (r.ok) {
      const exec = [redis.cmd('MULTI'), redis.cmd('DEL', key), redis.cmd('RPUSH', key, host, urlB), redis.cmd('EXEC')];
      await Promise.all(exec);
      results.change.push(await waitFor(host, is('B'), performance.now()));
      await redis.cmd('DEL', key);
      results.delete.push(await waitFor(host, isGone, performance.now()));
    } else await redis.cmd('DEL', key);
    const h2 = `m${i}-${RUN_ID}.prop.test`;
    await get(h2); // a miss first
    await redis.cmd('RPUSH', `frontend:${h2}`, h2, urlA);
    r = await waitFor(h2, is('A'), performance.now());
    results['add-after-miss'].push(r);
    await redis.cmd('DEL', `frontend:${h2}`);
    if (!keepGoing(results)) break;
  }
  redis.close();
}

async function fileTrials(results) {
  const hosts = { ...spec.baseHosts };
  const urls = { A: `http://127.0.0.1:${spec.aPort}`, B: `http://127.0.0.1:${spec.bPort}` };
  // Save number `seq` routes to B when odd, A when even (the initial file, seq 0, to A);
  // a rerun continues the numbering (spec.seqStart), so it continues alternating.
  for (let i = 0; i < spec.n; i++) {
    const seq = (spec.seqStart ?? 1) + i;
    const want = seq % 2 ? 'B' : 'A';
    hosts['prop.file.test'] = urls[want];
    saveVhosts(spec.dir, spec.save, vhostsYaml(hosts), seq);
    results[spec.save].push(await waitFor('prop.file.test', is(want), performance.now()));
    if (!keepGoing(results)) break;
    await new Promise((r) => setTimeout(r, spec.gapMs ?? 20));
  }
}

function summarize(rs) {
  const lat = rs.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))] : null);
  return {
    trials: rs.length,
    timeouts: rs.filter((r) => !r.ok).length,
    firstOk: rs.filter((r) => r.firstOk).length,
    p50_ms: pct(50),
    p99_ms: pct(99),
    max_ms: pct(100),
    attemptsMean: rs.length ? rs.reduce((a, r) => a + r.attempts, 0) / rs.length : null,
    lastFailure: rs.find((r) => !r.ok)?.last,
  };
}

const a = await backend(spec.aPort, 'A');
const b = await backend(spec.bPort, 'B');
const results = spec.mode === 'redis'
  ? { add: [], change: [], delete: [], 'add-after-miss': [] }
  : { [spec.save]: [] };
const t0 = performance.now();
await (spec.mode === 'redis' ? redisTrials(results) : fileTrials(results));
const out = { wall_s: (performance.now() - t0) / 1000, aborted, scenarios: {} };
for (const [name, rs] of Object.entries(results)) out.scenarios[name] = summarize(rs);
process.stdout.write(`PROPJSON ${JSON.stringify(out)}\n`);
if (agent) agent.destroy();
a.closeAllConnections();
b.closeAllConnections();
a.close();
b.close();
process.exit(0);
