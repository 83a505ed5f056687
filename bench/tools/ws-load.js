#!/usr/bin/env node
// WebSocket echo load: N sockets, each sends a message and sends the next one
// as soon as the echo is back (ping-pong), for a fixed duration. Prints one
// "WSJSON {...}" line: messages, rate, round-trip p50/p99 (us), errors.
// Bounded: connecting has a 10 s limit, the run its duration, the drain 2 s.
// Usage: node ws-load.js '{"port":19110,"host":"ws.bench","conns":50,"seconds":10,"size":64}'

import { WebSocket } from 'ws';

const spec = JSON.parse(process.argv[2]);
const payload = Buffer.alloc(spec.size ?? 64, 'w');
const rtts = [];
let errors = 0;
let counting = false;
let stopped = false;

function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${spec.port}/`, {
      headers: { Host: spec.host },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', () => { errors++; resolve(null); });
  });
}

const sockets = (await Promise.all(Array.from({ length: spec.conns }, open))).filter(Boolean);
if (sockets.length === 0) {
  process.stdout.write(`WSJSON ${JSON.stringify({ messages: 0, seconds: 0, rate: 0, errors, connected: 0 })}\n`);
  process.exit(1);
}
let inflight = 0;
for (const ws of sockets) {
  let sentAt = 0;
  const send = () => {
    if (stopped) return;
    sentAt = performance.now();
    inflight++;
    ws.send(payload);
  };
  ws.on('message', () => {
    inflight--;
    if (counting) rtts.push(performance.now() - sentAt);
    send();
  });
  ws.on('error', () => { errors++; });
  ws.on('close', () => { if (!stopped) errors++; });
  send();
}
// A short warm-up (JIT, pools) before counting.
await new Promise((r) => setTimeout(r, Math.min(1000, spec.seconds * 100)));
counting = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, spec.seconds * 1000));
counting = false;
const seconds = (performance.now() - t0) / 1000;
stopped = true;
const drainUntil = performance.now() + 2000;
while (inflight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 10));
for (const ws of sockets) ws.terminate();

rtts.sort((a, b) => a - b);
const pct = (p) => (rtts.length ? Math.round(rtts[Math.min(rtts.length - 1, Math.ceil((p / 100) * rtts.length) - 1)] * 1000) : NaN);
process.stdout.write(`WSJSON ${JSON.stringify({
  messages: rtts.length,
  seconds,
  rate: rtts.length / seconds,
  p50_us: pct(50),
  p99_us: pct(99),
  max_us: pct(100),
  errors,
  connected: sockets.length,
})}\n`);
process.exit(0);
