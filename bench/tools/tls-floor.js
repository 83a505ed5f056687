#!/usr/bin/env node
// The TLS floor: a bare node:https server, one process, that answers every
// request by itself with 200 "hello world!\n" (13 B), as the backend does,
// on the benchmark's certificate. Nothing a Node proxy does can be cheaper
// than this, so the tls-new / tls-resumed ratios are against it.
// Usage: node tls-floor.js PORT CERT KEY

import https from 'node:https';
import { readFileSync } from 'node:fs';

const [port, cert, key] = process.argv.slice(2);
if (!port || !cert || !key) {
  process.stderr.write('usage: tls-floor.js PORT CERT KEY\n');
  process.exit(2);
}
const body = Buffer.from('hello world!\n');
const server = https.createServer({
  cert: readFileSync(cert),
  key: readFileSync(key),
  minVersion: 'TLSv1.2',
  keepAliveTimeout: 300_000,
}, (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.listen({ port: Number(port), host: '127.0.0.1' }, () => process.stdout.write(`tls-floor listening on 127.0.0.1:${port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
