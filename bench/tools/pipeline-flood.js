#!/usr/bin/env node
// A pipelining flood against one Switchyard worker: N clients each write
// R pipelined GETs in one go and never read an answer. Prints how many
// requests reached the backend and the worker's RSS before and at its peak.
//
//   node bench/tools/pipeline-flood.js [--clients 3] [--requests 10000] [--body 2048] [--seconds 8] [--root DIR]
//
// --root: the checkout whose bin/switchyard.js is run (default: this one, built).
// SWITCHYARD_FRONT=node in the environment measures the node:http front end;
// FLOOD_LOGS=1 prints the proxy's log at the end.
// Everything listens on 127.0.0.1, on ports the kernel picks.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '3' },
    requests: { type: 'string', default: '10000' },
    body: { type: 'string', default: '2048' },
    seconds: { type: 'string', default: '8' },
    root: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '..', '..') },
  },
});
const clients = Number(values.clients);
const perClient = Number(values.requests);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));
const freePort = async () => {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
};
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

let reached = 0;
const body = 'x'.repeat(Number(values.body));
const backend = http.createServer((req, res) => {
  reached++;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
const backendPort = await listen(backend);

const dir = mkdtempSync(join(os.tmpdir(), 'flood-'));
writeFileSync(join(dir, 'vhosts.yaml'), `vhosts:\n  flood.test:\n    backends: [http://127.0.0.1:${backendPort}]\n`);
const port = await freePort();
writeFileSync(
  join(dir, 'config.json'),
  JSON.stringify({ server: { workers: 1, workerMemoryLimit: 0 }, http: { port, bind: ['127.0.0.1'] }, file: { path: join(dir, 'vhosts.yaml') } }),
);
const proxy = spawn(process.execPath, [join(values.root, 'bin', 'switchyard.js'), '--config', join(dir, 'config.json')], {
  stdio: ['ignore', 'ignore', 'pipe'],
  detached: true,
});
let logs = '';
proxy.stderr.on('data', (d) => (logs += d));
const stop = () => {
  try {
    process.kill(-proxy.pid, 'SIGKILL');
  } catch {}
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', stop);

const ping = (agent = false) =>
  new Promise((resolve) => {
    const req = http.get({ port, host: '127.0.0.1', headers: { host: 'flood.test' }, agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
for (let i = 0; (await ping()) !== 200; i++) {
  if (i > 100) throw new Error(`switchyard did not start:\n${logs}`);
  await sleep(100);
}
const worker = Number(execFileSync('pgrep', ['-P', String(proxy.pid)]).toString().trim().split('\n')[0]);
// Warm up (code compiled, heap grown to its working size), so that "before" is a serving worker's RSS.
const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
for (let round = 0; round < 100; round++) await Promise.all(Array.from({ length: 50 }, () => ping(agent)));
agent.destroy();
await sleep(500);
const before = rssMiB(worker);
reached = 0;

let burst = '';
for (let i = 0; i < perClient; i++) burst += `GET /n${i} HTTP/1.1\r\nHost: flood.test\r\nUser-Agent: flood\r\n\r\n`;
const sockets = [];
for (let c = 0; c < clients; c++) {
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.pause(); // never reads an answer
    socket.write(burst);
  });
  socket.on('error', () => {});
  sockets.push(socket);
}
let peak = before;
const timeline = [];
const end = Date.now() + Number(values.seconds) * 1000;
for (let i = 0; Date.now() < end; i++) {
  const rss = rssMiB(worker);
  peak = Math.max(peak, rss);
  if (i % 10 === 0) timeline.push(`${Math.round(rss)} MiB at ${reached}`);
  await sleep(100);
}
const forwarded = reached;
const served = await ping();
console.log(
  JSON.stringify({
    front: process.env.SWITCHYARD_FRONT === 'node' ? 'node' : 'fast',
    clients,
    requestsPerClient: perClient,
    answerBytes: Buffer.byteLength(body),
    reachedBackend: forwarded,
    rssBeforeMiB: Math.round(before),
    rssPeakMiB: Math.round(peak),
    rssEndMiB: Math.round(rssMiB(worker)),
    eachSecond: timeline.join(', '),
    anotherClientServed: served,
  }),
);
for (const s of sockets) s.destroy();
backend.close();
if (process.env.FLOOD_LOGS) console.log(logs);
process.exit(0);
