#!/usr/bin/env node
// The HTTP backend used when nginx is not installed (plain node:http, no deps).
// GET /64k and /1m answer 64 KiB and 1 MiB; every other path answers the
// 13-byte "hello world!\n". Request bodies are drained. Keep-alive with long
// timeouts and no per-socket request cap, so the benchmark never pays
// reconnects because of the backend.
// Usage: node backend.js PORT

import http from 'node:http';

const port = Number(process.argv[2] ?? 19100);
const bodies = {
  '/64k': Buffer.alloc(64 * 1024, 'x'),
  '/1m': Buffer.alloc(1024 * 1024, 'x'),
};
const small = Buffer.from('hello world!\n');
const headersFor = new Map();
for (const b of [small, ...Object.values(bodies)]) {
  headersFor.set(b, ['Content-Type', 'text/plain', 'Content-Length', String(b.length)]);
}

const server = http.createServer((req, res) => {
  const body = bodies[req.url] ?? small;
  const send = () => {
    res.writeHead(200, headersFor.get(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method === 'GET' || req.method === 'HEAD') send();
  else {
    req.on('end', send);
    req.resume();
  }
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1');
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
