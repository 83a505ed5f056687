// SPEC §6 "Client identity": server.trustedProxies decides whose X-Forwarded-*
// and X-Real-IP are kept (a trusted peer's, Hipache's behaviour) and whose are
// replaced by the proxy's own, and whose X-Debug is honoured. Tests run on
// loopback: the default trusts it, ["10.0.0.0/8"] makes 127.0.0.1 untrusted.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { refusingPort, startWsBackend, type Counted, type WsBackend } from '../helpers/backends.js';
import { firstResponse, rawRequest } from '../helpers/http.js';
import { CLAIMS, getRequest, headsBackend, identityLines, identityProxy, proxyOwnLines, readLog, type IdentityProxy } from '../helpers/identity.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { connectWs } from '../helpers/ws-client.js';

const UPGRADE = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

describe('client identity: server.trustedProxies', () => {
  let redis: RedisServer;
  let backend: Counted;
  let ws: WsBackend;
  /** Default trustedProxies: loopback and private networks are trusted. */
  let trusting: IdentityProxy;
  /** trustedProxies ["10.0.0.0/8"]: this test, on 127.0.0.1, is an untrusted client. */
  let wary: IdentityProxy;

  before(async () => {
    redis = await startRedis();
    backend = await headsBackend();
    ws = await startWsBackend({ name: 'ws' });
    [trusting, wary] = await Promise.all([identityProxy(redis, {}), identityProxy(redis, { server: { trustedProxies: ['10.0.0.0/8'] } })]);
    await redis.cmd('RPUSH', 'frontend:id.test', 'id-site', backend.url);
    await redis.cmd('RPUSH', 'frontend:ws.id.test', 'ws-site', ws.url);
    await redis.cmd('RPUSH', 'frontend:refused.id.test', 'refused-site', `http://127.0.0.1:${await refusingPort()}`);
  });

  /** Sends `request` to `to` and returns the identity lines of the head the backend got. */
  async function forwarded(to: IdentityProxy, request: string): Promise<string[]> {
    const before = backend.heads.length;
    const res = await firstResponse(to.port, request);
    assert.equal(res.status, 200);
    return identityLines(backend.heads[before]);
  }

  test("a trusted peer's X-Forwarded-* and X-Real-IP are kept exactly as sent, the missing ones added", async () => {
    assert.deepEqual(await forwarded(trusting, getRequest('id.test', ['X-Forwarded-For: 198.51.100.1, 10.0.0.1', 'X-Forwarded-Proto: https'])), [
      'X-Forwarded-For: 198.51.100.1, 10.0.0.1',
      'X-Forwarded-Proto: https',
      'X-Real-IP: 127.0.0.1',
      'X-Forwarded-Protocol: http',
      `X-Forwarded-Port: ${trusting.port}`,
    ]);
    assert.deepEqual(await forwarded(trusting, getRequest('id.test', CLAIMS)), CLAIMS);
  });

  test("an untrusted peer's are all replaced by the proxy's own: its address, this listener's scheme and port", async () => {
    assert.deepEqual(await forwarded(wary, getRequest('id.test', [...CLAIMS, 'X-Kept: yes'])), proxyOwnLines('127.0.0.1', wary.port));
    assert.ok(backend.heads.at(-1)!.includes('\r\nX-Kept: yes'), 'other headers are forwarded');
    assert.deepEqual(await forwarded(wary, getRequest('id.test')), proxyOwnLines('127.0.0.1', wary.port), 'none sent: the same');
  });

  test('the same for a request with a body (served by node:http when the fast front end hands it over)', async () => {
    const post = `POST /form HTTP/1.1\r\nHost: id.test\r\n${CLAIMS.join('\r\n')}\r\nContent-Length: 5\r\n\r\nhello`;
    assert.deepEqual(await forwarded(wary, post), proxyOwnLines('127.0.0.1', wary.port));
    assert.deepEqual(await forwarded(trusting, post), CLAIMS);
  });

  test('on a kept-alive connection every request is judged alike', async () => {
    const before = backend.heads.length;
    const res = await rawRequest(wary.port, getRequest('id.test', CLAIMS) + getRequest('id.test', [...CLAIMS, 'Connection: close']));
    assert.equal(res.text.match(/HTTP\/1\.1 200/g)?.length, 2, res.text);
    assert.deepEqual(backend.heads.slice(before).map(identityLines), [proxyOwnLines('127.0.0.1', wary.port), proxyOwnLines('127.0.0.1', wary.port)]);
  });

  test("an untrusted peer's X-Debug is ignored: no x-debug-* header, on success or on a proxy error", async () => {
    for (const host of ['id.test', 'unknown.id.test', 'refused.id.test']) {
      const trusted = await firstResponse(trusting.port, getRequest(host, ['X-Debug: 1']));
      const untrusted = await firstResponse(wary.port, getRequest(host, ['X-Debug: 1']));
      assert.equal(untrusted.status, trusted.status, host);
      assert.ok(Object.keys(trusted.headers).some((h) => h.startsWith('x-debug-')), `${host}: a trusted peer gets x-debug-* (${trusted.status})`);
      assert.deepEqual(Object.keys(untrusted.headers).filter((h) => h.startsWith('x-debug')), [], `${host}: ${untrusted.status}`);
    }
  });

  test("an untrusted peer's upgrade: forwarded headers replaced, X-Debug ignored on a refused upgrade", async () => {
    const before = ws.upgrades.length;
    const client = await connectWs({ port: wary.port, host: 'ws.id.test', headers: { 'X-Forwarded-For': '198.51.100.1', 'X-Forwarded-Host': 'evil.example', 'X-Debug': '1' } });
    assert.equal(await client.echo('hi'), 'ws:hi');
    client.close();
    const seen = ws.upgrades[before]!.headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen['x-forwarded-host'], undefined);
    assert.equal(seen['x-forwarded-port'], String(wary.port));
    for (const host of ['unknown.id.test', 'refused.id.test']) {
      const trusted = await rawRequest(trusting.port, getRequest(host, [...UPGRADE, 'X-Debug: 1']));
      const untrusted = await rawRequest(wary.port, getRequest(host, [...UPGRADE, 'X-Debug: 1']));
      assert.match(trusted.text, /\r\nx-debug-error: /i, `${host}: a trusted peer gets x-debug-error`);
      assert.equal(untrusted.status, trusted.status, host);
      assert.doesNotMatch(untrusted.text, /x-debug/i, host);
    }
  });

  test('the access log shows the peer, whatever X-Forwarded-For it sent', async () => {
    await firstResponse(wary.port, getRequest('id.test', CLAIMS, '/logged-peer'));
    const line = await waitFor(() => readLog(wary.accessLog).split('\n').find((l) => l.includes('/logged-peer')), { message: 'the access log line' });
    assert.match(line, /^127\.0\.0\.1 - - \[/);
  });
});
