#!/usr/bin/env node
// WebSocket echo backend (the `ws` devDependency): every message is sent back
// as is. Plain HTTP requests get 200 "ws echo\n" (readiness checks).
// Usage: node ws-echo.js PORT

import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 19101);
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '8' });
  res.end('ws echo\n');
});
server.keepAliveTimeout = 300_000;
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(port, '127.0.0.1');
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
