#!/usr/bin/env node
// SPEC §7 "100,000 hosts with their own certificate": one worker, its
// certificates in Redis `tls:` keys, measured against the same proxy with
// none, in one run:
//   - start: process start -> the HTTPS listener serving, then until the
//     checks a large snapshot deferred are through (its log line);
//   - the worker's RSS with none, with N at start, once every certificate
//     is checked, and after handshakes for 3,000 distinct names (the secure
//     context cache holds 1,000);
//   - a handshake's wall time (sequential, from this process) for a name
//     whose context is cached, for a checked name not cached (a context is
//     built), and for a name still unchecked (checked, then built), as
//     medians and as ratios to the cached one.
// Every `tls:<name>` holds the same wildcard chain and key (making 100,000
// distinct RSA keys would take hours); each name is still read, held,
// checked and built on its own, as distinct ones would be.
//
// Usage: node bench/tools/many-certificates.js [--n 100000] [--key rsa|ec] [--root DIR]
//   --root: the build to run (a checkout with dist/ and bin/), default this one.
// Needs redis-server and openssl; uses loopback ports 19400-19405.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Redis } from '../lib/resp.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const N = Number(arg('n', '100000'));
const kind = arg('key', 'rsa');
const root = resolve(arg('root', join(dirname(fileURLToPath(import.meta.url)), '..', '..')));
const PORTS = { redis: 19400, http: 19401, https: 19402, admin: 19403 };
const SAMPLES = 200;

const work = mkdtempSync(join(os.tmpdir(), 'switchyard-many-certs-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startChild(cmd, args, logFile) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  let log = '';
  const keep = (d) => {
    log += d;
    if (logFile) writeFileSync(logFile, d, { flag: 'a' });
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.push(child);
  return { child, log: () => log };
}

async function waitFor(check, what, timeoutMs = 600_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function adminGet(path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: PORTS.admin, path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('admin timeout')));
  });
}

/** One TLS handshake naming `servername`: resolves { ms, fingerprint }. */
function handshake(servername) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = tls.connect({ host: '127.0.0.1', port: PORTS.https, servername, rejectUnauthorized: false });
    socket.on('error', reject);
    socket.on('secureConnect', () => {
      const ms = performance.now() - t0;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve({ ms, fingerprint });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function workerPid() {
  const res = await adminGet('/status');
  return JSON.parse(res.body).workers[0].pid;
}

/** Whether the worker holds `name`'s certificate unchecked (the admin's /route says so). */
async function unchecked(name) {
  const res = await adminGet(`/route?host=${name}`);
  const certificate = JSON.parse(res.body).certificate;
  return certificate !== null && certificate.checked === false;
}

async function startProxy(label, defaultCert) {
  const config = {
    server: { workers: 1, accessLog: null },
    http: { port: PORTS.http, bind: ['127.0.0.1'] },
    https: { port: PORTS.https, bind: ['127.0.0.1'], cert: defaultCert.cert, key: defaultCert.key },
    driver: [`redis://127.0.0.1:${PORTS.redis}`],
    admin: { port: PORTS.admin },
  };
  const file = join(work, `config-${label}.json`);
  writeFileSync(file, JSON.stringify(config));
  const t0 = performance.now();
  const proxy = startChild(process.execPath, [join(root, 'bin', 'switchyard.js'), '--config', file], join(work, `switchyard-${label}.log`));
  await waitFor(async () => /worker\] listening/.test(proxy.log()) && (await handshake('ready.test').catch(() => null)) !== null, 'the HTTPS listener');
  const readyS = (performance.now() - t0) / 1000;
  return { ...proxy, t0, readyS };
}

async function stopProxy(proxy) {
  proxy.child.kill('SIGTERM');
  await new Promise((r) => proxy.child.once('exit', r));
}

function makeCertificate(names, file) {
  const keyArgs = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-subj', `/CN=${names[0]}`, '-days', '30', '-keyout', `${file}.key`, '-out', `${file}.pem`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`], { cwd: work, stdio: 'pipe' });
  return { cert: join(work, `${file}.pem`), key: join(work, `${file}.key`), pem: readFileSync(join(work, `${file}.pem`), 'utf8') + readFileSync(join(work, `${file}.key`), 'utf8') };
}

try {
  const defaultCert = makeCertificate(['default.test'], 'default');
  const wildcard = makeCertificate(['*.many.test'], 'wildcard');
  const name = (i) => `h${i}.many.test`;
  const redis = startChild('redis-server', ['--port', String(PORTS.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const client = await waitFor(async () => {
    const r = new Redis(PORTS.redis);
    try {
      await r.ready;
      await r.cmd('PING');
      return r;
    } catch {
      r.close();
      return null;
    }
  }, 'redis-server', 10_000);

  // The reference: no certificate in Redis.
  const none = await startProxy('none', defaultCert);
  await sleep(2000);
  const rssNone = rssMiB(await workerPid());
  await stopProxy(none);

  for (let i = 0; i < N; i += 1000) {
    const pairs = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) pairs.push(`tls:${name(j)}`, wildcard.pem);
    await client.cmd('MSET', ...pairs);
  }
  const proxy = await startProxy('many', defaultCert);
  // The listener may open before a snapshot this large is in (it waits 3 s at most): wait for it.
  await waitFor(() => /redis snapshot loaded/.test(proxy.log()), 'the first snapshot');
  const loadedS = (performance.now() - proxy.t0) / 1000;
  const pid = await workerPid();
  const rssAtStart = rssMiB(pid);

  // Still unchecked right after the start: the first handshake checks, then builds.
  const fresh = [];
  for (let i = N - 1; i >= 0 && fresh.length < SAMPLES; i -= 7) if (await unchecked(name(i))) fresh.push(name(i));
  const uncheckedMs = [];
  for (const n of fresh) uncheckedMs.push((await handshake(n)).ms);

  await waitFor(() => /deferred certificate checks done/.test(proxy.log()) || !/uncheckedCertificates=/.test(proxy.log()), 'the deferred checks', 3_600_000);
  const checkedS = (performance.now() - proxy.t0) / 1000;
  await sleep(1000);
  const rssChecked = rssMiB(pid);

  // Checked, never handshaken: a context is built.
  const builtMs = [];
  for (let i = 0; builtMs.length < SAMPLES; i += 11) if (!fresh.includes(name(i))) builtMs.push((await handshake(name(i))).ms);
  // Cached: the same name again.
  const cachedMs = [];
  for (let i = 0; i < SAMPLES; i++) cachedMs.push((await handshake(name(0))).ms);
  // 3,000 distinct names: the context cache fills up (1,000) and evicts.
  for (let i = 1; i <= 3000; i++) await handshake(name(i * 13 % N));
  const rssContexts = rssMiB(pid);
  const served = await handshake(name(N - 1));
  if (served.fingerprint === undefined) throw new Error('no certificate served');
  await stopProxy(proxy);

  const cached = median(cachedMs);
  const row = (label, ms) => `| ${label} | ${ms.toFixed(2)} ms | ${(ms / cached).toFixed(2)}x |`;
  console.log(`${N} certificates (${kind}, ${wildcard.pem.length} bytes of PEM each) in Redis, one worker, build ${root}`);
  console.log(`start: HTTPS serving after ${proxy.readyS.toFixed(1)} s (none: ${none.readyS.toFixed(1)} s), every certificate in the table after ${loadedS.toFixed(1)} s, every one checked after ${checkedS.toFixed(1)} s`);
  console.log('');
  console.log('| worker RSS | MiB | vs none |');
  console.log('|:--|--:|--:|');
  console.log(`| no certificate | ${rssNone.toFixed(0)} | 1.00x |`);
  console.log(`| ${N} certificates, first snapshot loaded | ${rssAtStart.toFixed(0)} | ${(rssAtStart / rssNone).toFixed(2)}x |`);
  console.log(`| every one checked | ${rssChecked.toFixed(0)} | ${(rssChecked / rssNone).toFixed(2)}x |`);
  console.log(`| after 3,000 distinct handshakes (1,000 contexts cached) | ${rssContexts.toFixed(0)} | ${(rssContexts / rssNone).toFixed(2)}x |`);
  console.log('');
  console.log(`| handshake (median of ${SAMPLES}, sequential) | wall time | vs cached |`);
  console.log('|:--|--:|--:|');
  console.log(row('context cached', cached));
  console.log(row('first for its name: a context built', median(builtMs)));
  if (uncheckedMs.length > 0) console.log(row(`first for its name, unchecked: checked, then built (${uncheckedMs.length} names)`, median(uncheckedMs)));
  client.close();
  rmSync(work, { recursive: true, force: true });
} catch (err) {
  console.error(`${err.stack ?? err}\nlogs kept in ${work}`);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGKILL');
}
