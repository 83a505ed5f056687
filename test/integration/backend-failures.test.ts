// SPEC §3 (passive health, retries, tcpTimeout): one failure policy for HTTP
// requests and WebSocket upgrades. The same backend failure gets the same
// verdict (retry, dead mark, status) whichever way the client came, a vhost's
// tcpTimeout applies to both, and both reach a backend over TLS alike.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { refusingPort, startWsBackend, type WsBackend } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { hipacheConfig } from '../helpers/config.js';
import { request } from '../helpers/http.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { deadMembers, nameOf, startRawBackend, timed } from '../helpers/redis-proxy.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert, type SelfSigned } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { connectWs, UpgradeRefused } from '../helpers/ws-client.js';

type Send = (host: string) => Promise<string>;

/** Who answered a request: the backend's name, or `<status>` for the proxy's own answer. */
const viaHttp = (proxy: Switchyard): Send => async (host) => nameOf(await request({ port: proxy.port, host }));

/** Who answered an upgrade: the name in the backend's echo, or `<status>` when it was refused. */
const viaWebSocket = (proxy: Switchyard): Send => async (host) => {
  try {
    const client = await connectWs({ port: proxy.port, host, timeoutMs: 8000 });
    const reply = await client.echo('hi');
    client.close();
    return reply.split(':')[0]!;
  } catch (err) {
    if (err instanceof UpgradeRefused) return `<${err.status}>`;
    throw err;
  }
};

/** A TCP server that resets every connection at its first byte (a TLS ClientHello, say). */
async function resetOnFirstByte(): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.on('error', () => {});
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
}

interface SniBackend {
  url: string;
  /** The TLS server name each request or upgrade came with; null for none. */
  seen: { kind: 'request' | 'upgrade'; servername: string | null }[];
}

/** An HTTPS and WSS backend at https://127.0.0.1:<port> (its certificate names IP 127.0.0.1), recording the SNI it gets. */
async function sniBackend(tls: SelfSigned): Promise<SniBackend> {
  const seen: SniBackend['seen'] = [];
  const servername = (socket: unknown) => (socket as TLSSocket).servername || null;
  const server = https.createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, (req, res) => {
    seen.push({ kind: 'request', servername: servername(req.socket) });
    res.writeHead(200, { 'x-backend-name': 'tls-ip', 'content-length': '2' });
    res.end('ok');
  });
  const wss = new WebSocketServer({ server });
  wss.on('error', () => {});
  wss.on('connection', (ws, req) => {
    seen.push({ kind: 'upgrade', servername: servername(req.socket) });
    ws.on('error', () => {});
    ws.on('message', (data) => ws.send(`tls-ip:${String(data)}`));
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  return { url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen };
}

describe('one failure policy for HTTP and WebSocket (Redis frontends)', () => {
  let redis: RedisServer;
  /** tcpTimeout 1 s, retryOnError 3, trusting `ipCert` (NODE_EXTRA_CA_CERTS). */
  let proxy: Switchyard;
  let ipCert: SelfSigned;
  let live: WsBackend;
  const protocols = (): [string, Send][] => [
    ['http', viaHttp(proxy)],
    ['websocket', viaWebSocket(proxy)],
  ];

  before(async () => {
    redis = await startRedis();
    live = await startWsBackend({ name: 'live' });
    ipCert = selfSignedCert(undefined, ['IP:127.0.0.1']);
    const config = hipacheConfig({ redisUrl: redis.url, dir: tempDir('failure-policy'), server: { tcpTimeout: 1, retryOnError: 3 } });
    proxy = await startSwitchyard(config, { env: { NODE_EXTRA_CA_CERTS: ipCert.cert } });
  });

  const setFrontend = async (host: string, ...backends: string[]) => {
    await redis.cmd('DEL', `frontend:${host}`);
    await redis.cmd('RPUSH', `frontend:${host}`, host, ...backends);
  };

  /** Sends until backend 0 of `host` is marked in Redis; every answer must be one of `allowed`. */
  async function assertMarked(send: Send, host: string, allowed: string[]): Promise<void> {
    for (let i = 0; i < 40 && (await deadMembers(redis, host)).length === 0; i++) {
      const who = await send(host);
      assert.ok(allowed.includes(who), `${host}: answered by ${who}`);
    }
    await waitFor(async () => (await deadMembers(redis, host)).join() === '0', { message: `dead:${host} = {0}` });
  }

  /**
   * Sends until backend 0 of `host` was tried three times, every answer from
   * the live backend. A marked backend gets no further attempt: three prove
   * it was not marked.
   */
  async function assertNotMarked(send: Send, host: string, attempts: () => number): Promise<void> {
    for (let i = 0; i < 60 && attempts() < 3; i++) assert.equal(await send(host), 'live', host);
    assert.ok(attempts() >= 3, `${host}: the failing backend was tried ${attempts()} times, then no more (marked?)`);
    assert.deepEqual(await deadMembers(redis, host), []);
  }

  test('a refused connection marks the backend dead, a reset after the connect does not; retried, the client never sees an error', async () => {
    for (const [label, send] of protocols()) {
      const refusedHost = `refused-${label}.policy.test`;
      await setFrontend(refusedHost, `http://127.0.0.1:${await refusingPort()}`, live.url);
      await assertMarked(send, refusedHost, ['live']);

      // The backend accepts, reads the request (or the upgrade), then resets.
      const resetting = await startRawBackend((socket) => socket.resetAndDestroy());
      const resetHost = `reset-${label}.policy.test`;
      await setFrontend(resetHost, resetting.url, live.url);
      await assertNotMarked(send, resetHost, () => resetting.heads.length);
    }
  });

  test('a reset during the TLS handshake does not mark the backend; retried, the client never sees an error', async () => {
    for (const [label, send] of protocols()) {
      const resetting = await resetOnFirstByte();
      const host = `tls-reset-${label}.policy.test`;
      await setFrontend(host, `https://127.0.0.1:${resetting.port}`, live.url);
      await assertNotMarked(send, host, resetting.accepted);
    }
  });

  test('a backend that accepts and never answers: 504 after tcpTimeout, and marked dead', async () => {
    for (const [label, send] of protocols()) {
      const silent = await startRawBackend(() => {});
      const host = `silent-${label}.policy.test`;
      await setFrontend(host, silent.url, live.url);
      await assertMarked(send, host, ['live', '<504>']);
      assert.ok(silent.heads.length >= 1, `${label}: the silent backend got the request`);
    }
  });

  test('a backend that closes in the middle of its answer head: 502 RESPONSE_TRUNCATED, not retried (it may have acted on the request), not marked', async () => {
    const partial = await startRawBackend((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Len'));
    const host = 'partial-head.policy.test';
    await setFrontend(host, partial.url, live.url);
    for (let i = 0; i < 60 && partial.heads.length < 3; i++) {
      const before = partial.heads.length;
      const res = await request({ port: proxy.port, host, headers: { 'x-debug': '1' } });
      if (partial.heads.length === before) assert.equal(nameOf(res), 'live');
      else assert.deepEqual([res.status, res.headers['x-debug-error']], [502, 'RESPONSE_TRUNCATED']);
    }
    assert.equal(partial.heads.length, 3, 'tried again and again: never marked');
    assert.deepEqual(await deadMembers(redis, host), []);
  });

  test('an https:// backend named by IP gets no TLS server name, over HTTP and WebSocket; its certificate is checked against the IP', async () => {
    const backend = await sniBackend(ipCert);
    const host = 'tls-ip.policy.test';
    await setFrontend(host, backend.url);
    assert.equal(await viaHttp(proxy)(host), 'tls-ip');
    assert.equal(await viaWebSocket(proxy)(host), 'tls-ip');
    assert.deepEqual(backend.seen, [
      { kind: 'request', servername: null },
      { kind: 'upgrade', servername: null },
    ]);
    // A certificate for another IP is refused (502), never relayed unverified.
    const other = await sniBackend(selfSignedCert(undefined, ['IP:127.0.0.2']));
    await setFrontend('tls-wrong-ip.policy.test', other.url);
    for (const [label, send] of protocols()) assert.equal(await send('tls-wrong-ip.policy.test'), '<502>', label);
    assert.deepEqual(other.seen, []);
  });
});

describe("a vhost's tcpTimeout (vhosts file)", () => {
  test('an upgrade to a backend that never answers gets 504 after the vhost timeout, well before the server one, like a request', async (t) => {
    const silent = await startRawBackend(() => {}, t);
    const vhosts = path.join(tempDir('vhost-timeout', t), 'vhosts.yaml');
    writeFileSync(vhosts, `vhosts:\n  quick.test:\n    tcpTimeout: 0.5\n    backends: [${silent.url}]\n`);
    const proxy = await startSwitchyard({ http: { bind: ['127.0.0.1'] }, server: { workers: 1, tcpTimeout: 30 }, file: { path: vhosts } }, { scope: t });
    for (const [label, send] of [['WebSocket', viaWebSocket(proxy)], ['HTTP', viaHttp(proxy)]] as const) {
      const { value: who, ms } = await timed(() => send('quick.test'));
      assert.equal(who, '<504>', label);
      assert.ok(ms >= 400 && ms < 5000, `${label}: 504 after ${Math.round(ms)} ms (vhost tcpTimeout 0.5 s, server 30 s)`);
    }
    assert.equal(silent.heads.length, 2, 'each reached the backend once (a timeout is not retried)');
  });
});
