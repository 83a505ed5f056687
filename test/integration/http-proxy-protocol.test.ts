// SPEC §6 "PROXY protocol": with http.proxyProtocol / https.proxyProtocol
// every connection starts with a PROXY header (v1 or v2) from a trusted peer,
// or is closed; the header's source is the client everywhere (forwarded
// headers, the trust decision, X-Debug, the access log). UNKNOWN and LOCAL
// keep the peer. The tests are the load balancer: they write the header.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { before, describe, test } from 'node:test';
import { startWsBackend, type Counted, type WsBackend } from '../helpers/backends.js';
import { firstResponse, RawConnection, rawRequest, statusOf } from '../helpers/http.js';
import { CLAIMS, getRequest, headsBackend, identityLines, identityProxy, proxyOwnLines, readLog, type IdentityProxy } from '../helpers/identity.js';
import { freePort } from '../helpers/ports.js';
import { proxyV1, proxyV2 } from '../helpers/proxy-protocol.js';
import { acceptsThenCloses, readUntil, readyBehindProxyHeader, tlsBehindProxyHeader } from '../helpers/proxy-protocol-client.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { selfSignedCert } from '../helpers/tls.js';
import { delay, waitFor } from '../helpers/wait.js';

const PUBLIC = '203.0.113.7';
const PUBLIC6 = '2001:db8::7';
/** A private address: trusted by default, so its own X-Forwarded-* are kept. */
const INTERNAL = '10.1.2.3';
const UPGRADE = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

describe('client identity: the PROXY protocol', () => {
  let redis: RedisServer;
  let backend: Counted;
  let ws: WsBackend;
  /** http and https with proxyProtocol, default trustedProxies (this test's 127.0.0.1 is a trusted balancer). */
  let lb: IdentityProxy;
  let lbHttps: number;
  /** The same with trustedProxies ["10.0.0.0/8"]: 127.0.0.1 may not send PROXY headers. */
  let wary: IdentityProxy;
  let waryHttps: number;
  /** http with proxyProtocol and trustedProxies ["all"]: Hipache's behaviour. */
  let hipache: IdentityProxy;

  before(async () => {
    redis = await startRedis();
    backend = await headsBackend();
    ws = await startWsBackend({ name: 'ws' });
    const cert = selfSignedCert();
    [lbHttps, waryHttps] = [await freePort(), await freePort()];
    const https = (port: number) => ({ port, bind: ['127.0.0.1'], key: cert.key, cert: cert.cert, proxyProtocol: true });
    [lb, wary, hipache] = await Promise.all([
      identityProxy(redis, { server: { headersTimeout: 1 }, http: { proxyProtocol: true }, https: https(lbHttps), start: { ready: readyBehindProxyHeader } }),
      identityProxy(redis, { server: { trustedProxies: ['10.0.0.0/8'] }, http: { proxyProtocol: true }, https: https(waryHttps), start: { ready: acceptsThenCloses } }),
      identityProxy(redis, { server: { trustedProxies: ['all'] }, http: { proxyProtocol: true }, start: { ready: readyBehindProxyHeader } }),
    ]);
    await redis.cmd('RPUSH', 'frontend:pp.test', 'pp-site', backend.url);
    await redis.cmd('RPUSH', 'frontend:ws.pp.test', 'ws-site', ws.url);
  });

  /** Sends `header` + `request` on a fresh connection; returns the identity lines of the head the backend got. */
  async function forwarded(header: Buffer, request: string, port = lb.port): Promise<string[]> {
    const before = backend.heads.length;
    const res = await firstResponse(port, Buffer.concat([header, Buffer.from(request)]));
    assert.equal(res.status, 200);
    return identityLines(backend.heads[before]);
  }

  test("v1 and v2, IPv4 and IPv6: the header's source is the client in X-Forwarded-For and X-Real-IP", async () => {
    const request = getRequest('pp.test', CLAIMS);
    // A public client is not a trusted proxy: what it claims is replaced.
    assert.deepEqual(await forwarded(proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), request), proxyOwnLines(PUBLIC, lb.port));
    assert.deepEqual(await forwarded(proxyV1({ source: PUBLIC6, destination: '2001:db8::1' }), request), proxyOwnLines(PUBLIC6, lb.port));
    assert.deepEqual(await forwarded(proxyV2({ source: PUBLIC, destination: '10.0.0.1' }), request), proxyOwnLines(PUBLIC, lb.port));
    assert.deepEqual(await forwarded(proxyV2({ source: PUBLIC6, destination: '2001:db8::1' }), request), proxyOwnLines(PUBLIC6, lb.port));
  });

  test("v2 with TLVs; a client in a trusted network keeps what it sent, the missing ones are added with the header's source", async () => {
    const header = proxyV2({ source: INTERNAL, destination: '10.0.0.1', tlvs: [[0x01, Buffer.from('http/1.1')], [0x05, Buffer.from('unique-id')]] });
    assert.deepEqual(await forwarded(header, getRequest('pp.test', ['X-Forwarded-For: 198.51.100.1'])), [
      'X-Forwarded-For: 198.51.100.1',
      `X-Real-IP: ${INTERNAL}`,
      'X-Forwarded-Proto: http',
      'X-Forwarded-Protocol: http',
      `X-Forwarded-Port: ${lb.port}`,
    ]);
  });

  test('PROXY UNKNOWN (v1) and LOCAL (v2) keep the peer as the client', async () => {
    assert.deepEqual(await forwarded(Buffer.from('PROXY UNKNOWN\r\n'), getRequest('pp.test')), proxyOwnLines('127.0.0.1', lb.port));
    assert.deepEqual(await forwarded(proxyV2({ command: 'LOCAL' }), getRequest('pp.test')), proxyOwnLines('127.0.0.1', lb.port));
    assert.deepEqual(await forwarded(Buffer.from('PROXY UNKNOWN\r\n'), getRequest('pp.test', CLAIMS)), CLAIMS, 'the peer is trusted: its claims are kept');
  });

  test('a header split across packets, and a request with a body after it', async () => {
    for (const header of [proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), proxyV2({ source: PUBLIC, destination: '10.0.0.1', tlvs: [[0x02, Buffer.from('pp.test')]] })]) {
      const before = backend.heads.length;
      const conn = await RawConnection.open(lb.port);
      conn.socket.setNoDelay(true);
      conn.write(header.subarray(0, 3));
      await delay(30); // separate reads on the proxy's side
      conn.write(header.subarray(3, 20));
      await delay(30);
      conn.write(Buffer.concat([header.subarray(20), Buffer.from('POST /upload HTTP/1.1\r\nHost: pp.test\r\nContent-Length: 3\r\n\r\nabc')]));
      assert.equal((await conn.readResponse()).status, 200);
      conn.close();
      assert.deepEqual(identityLines(backend.heads[before]), proxyOwnLines(PUBLIC, lb.port));
    }
  });

  test('every request of a kept-alive connection has the client of its header', async () => {
    const before = backend.heads.length;
    const conn = await RawConnection.open(lb.port);
    conn.write(Buffer.concat([proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), Buffer.from(getRequest('pp.test'))]));
    assert.equal((await conn.readResponse()).status, 200);
    conn.write(getRequest('pp.test', ['X-Forwarded-For: 198.51.100.1']));
    assert.equal((await conn.readResponse()).status, 200);
    conn.close();
    assert.deepEqual(backend.heads.slice(before).map(identityLines), [proxyOwnLines(PUBLIC, lb.port), proxyOwnLines(PUBLIC, lb.port)]);
  });

  test("X-Debug is honoured for a client in a trusted network only, the header's source deciding", async () => {
    for (const host of ['pp.test', 'unknown.pp.test']) {
      const inside = await firstResponse(lb.port, Buffer.concat([proxyV2({ source: INTERNAL, destination: '10.0.0.1' }), Buffer.from(getRequest(host, ['X-Debug: 1']))]));
      const outside = await firstResponse(lb.port, Buffer.concat([proxyV2({ source: PUBLIC, destination: '10.0.0.1' }), Buffer.from(getRequest(host, ['X-Debug: 1']))]));
      assert.ok(Object.keys(inside.headers).some((h) => h.startsWith('x-debug-')), `${host} (${inside.status})`);
      assert.equal(outside.status, inside.status);
      assert.deepEqual(Object.keys(outside.headers).filter((h) => h.startsWith('x-debug')), [], host);
    }
  });

  test("the access log shows the header's source", async () => {
    await forwarded(proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), getRequest('pp.test', [], '/logged-v1'));
    await forwarded(proxyV2({ source: PUBLIC6, destination: '2001:db8::1' }), getRequest('pp.test', [], '/logged-v2'));
    const lines = await waitFor(() => {
      const log = readLog(lb.accessLog).split('\n');
      const found = ['/logged-v1', '/logged-v2'].map((path) => log.find((l) => l.includes(path)));
      return found.every(Boolean) && found;
    }, { message: 'both access log lines' });
    assert.match(lines[0]!, /^203\.0\.113\.7 - - \[/);
    assert.match(lines[1]!, /^2001:db8::7 - - \[/);
  });

  test('an upgrade behind a PROXY header: the backend sees the header\'s source', async () => {
    const before = ws.upgrades.length;
    const conn = await RawConnection.open(lb.port);
    conn.write(Buffer.concat([proxyV2({ source: PUBLIC, destination: '10.0.0.1' }), Buffer.from(getRequest('ws.pp.test', [...UPGRADE, 'X-Forwarded-For: 198.51.100.1']))]));
    assert.equal((await conn.readResponse()).status, 101);
    conn.close();
    const seen = ws.upgrades[before]!.headers;
    assert.deepEqual([seen['x-forwarded-for'], seen['x-real-ip'], seen['x-forwarded-port']], [PUBLIC, PUBLIC, String(lb.port)]);
  });

  test('a connection without a header, with garbage, or with a malformed header is closed unanswered', async () => {
    for (const bytes of [
      getRequest('pp.test'),
      'POST / HTTP/1.1\r\nHost: pp.test\r\nContent-Length: 0\r\n\r\n',
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
      `PROXY TCP4 ${PUBLIC} 10.0.0.1 99999 80\r\n${getRequest('pp.test')}`,
      Buffer.concat([Buffer.from(proxyV2({ source: PUBLIC, destination: '10.0.0.1' })).fill(0x31, 12, 13), Buffer.from(getRequest('pp.test'))]),
    ]) {
      const res = await rawRequest(lb.port, bytes, { timeoutMs: 3000 });
      assert.deepEqual([res.closed, res.text], [true, ''], `${JSON.stringify(String(bytes))}: closed with nothing sent`);
    }
  });

  test('a connection that sends no header, or half of one, is closed after server.headersTimeout', async () => {
    for (const bytes of ['', 'PROXY TCP4 203.0.1']) {
      const started = Date.now();
      const res = await rawRequest(lb.port, bytes, { timeoutMs: 5000 });
      assert.deepEqual([res.closed, res.text], [true, ''], JSON.stringify(bytes));
      assert.ok(Date.now() - started >= 800, `closed after ${Date.now() - started} ms: by the 1 s timeout`);
    }
  });

  test('a PROXY header from a peer not in trustedProxies: the connection is closed, on http and https', async () => {
    for (const port of [wary.port, waryHttps]) {
      const res = await rawRequest(port, Buffer.concat([proxyV1({ source: INTERNAL, destination: '10.0.0.1' }), Buffer.from(getRequest('pp.test'))]), { timeoutMs: 3000 });
      assert.deepEqual([res.closed, res.text], [true, ''], `port ${port}`);
    }
  });

  test('trustedProxies ["all"]: every client keeps what it sent, Hipache\'s behaviour', async () => {
    assert.deepEqual(await forwarded(proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), getRequest('pp.test', CLAIMS), hipache.port), CLAIMS);
    const res = await firstResponse(hipache.port, Buffer.concat([proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), Buffer.from(getRequest('pp.test', ['X-Debug: 1']))]));
    assert.ok(res.headers['x-debug-backend-url'], 'X-Debug honoured');
  });

  for (const together of [false, true]) {
    test(`HTTPS: the PROXY header, then the TLS handshake ${together ? 'in the same packet' : 'in a later packet'}`, async () => {
      for (const header of [proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), proxyV2({ source: PUBLIC6, destination: '2001:db8::1' })]) {
        const before = backend.heads.length;
        const socket = await tlsBehindProxyHeader(lbHttps, header, together);
        socket.write(getRequest('pp.test', [...CLAIMS, 'Connection: close']));
        const reply = await readUntil(socket, /\r\n\r\nok$/);
        assert.equal(statusOf(reply), 200, reply);
        const source = header[0] === 0x50 ? PUBLIC : PUBLIC6;
        assert.deepEqual(identityLines(backend.heads[before]), proxyOwnLines(source, lbHttps, 'https'));
      }
    });
  }

  test('HTTP/2: every stream of a session behind a PROXY header has the header\'s source as its client', async () => {
    const socket = await tlsBehindProxyHeader(lbHttps, proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), true, ['h2']);
    assert.equal(socket.alpnProtocol, 'h2');
    const session = http2.connect(`https://127.0.0.1:${lbHttps}`, { createConnection: () => socket });
    session.on('error', () => {});
    const claims = Object.fromEntries(CLAIMS.map((line) => line.split(': ').map((part, i) => (i === 0 ? part.toLowerCase() : part))));
    const before = backend.heads.length;
    for (let i = 0; i < 2; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': 'pp.test', ...claims });
        let got = 0;
        stream.on('response', (h) => (got = Number(h[':status'])));
        stream.on('end', () => resolve(got));
        stream.on('error', reject);
        stream.resume();
      });
      assert.equal(status, 200);
      assert.deepEqual(identityLines(backend.heads[before + i]), proxyOwnLines(PUBLIC, lbHttps, 'https'));
    }
    session.destroy();
  });

  test('HTTPS: a WebSocket upgrade behind a PROXY header', async () => {
    const before = ws.upgrades.length;
    const socket = await tlsBehindProxyHeader(lbHttps, proxyV1({ source: PUBLIC, destination: '10.0.0.1' }), true);
    socket.write(getRequest('ws.pp.test', UPGRADE));
    assert.equal(statusOf(await readUntil(socket, /\r\n\r\n/)), 101);
    socket.destroy();
    const seen = ws.upgrades[before]!.headers;
    assert.deepEqual([seen['x-forwarded-for'], seen['x-forwarded-proto'], seen['x-forwarded-port']], [PUBLIC, 'https', String(lbHttps)]);
  });
});
