// SPEC §3: what the proxy forwards, adds and removes on the way through.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { json, RawConnection } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

const LOCAL = ['127.0.0.1', '::ffff:127.0.0.1'];

describe('HTTP forwarding', () => {
  let stack: Stack;
  let echo: Backend;
  let cookies: Backend;
  let hops: Backend;

  before(async () => {
    stack = await startStack();
    echo = await startHttpBackend({ name: 'echo' });
    cookies = await startHttpBackend({ name: 'cookies', headers: { 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'] } });
    hops = await startHttpBackend({
      name: 'hops',
      headers: { connection: 'x-backend-hop', 'x-backend-hop': 'secret', 'keep-alive': 'timeout=100', 'x-kept': 'yes' },
    });
    await stack.setFrontend('echo.test', 'echo-site', echo.url);
    await stack.setFrontend('cookies.test', 'cookie-site', cookies.url);
    await stack.setFrontend('hops.test', 'hop-site', hops.url);
  });

  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    test(`${method} is forwarded with its method, body, path and query verbatim`, async () => {
      const body = method === 'GET' || method === 'OPTIONS' ? undefined : `payload for ${method}`;
      const path = '/p%20a/../b//c;m=1?x=1&y=%2F&z&empty=';
      const res = await stack.get('echo.test', { method, path, body });
      assert.equal(res.status, 200, res.text);
      const seen = json<EchoBody>(res);
      assert.equal(seen.method, method);
      assert.equal(seen.url, path);
      assert.equal(seen.bodyLength, body === undefined ? 0 : Buffer.byteLength(body));
    });
  }

  test('HEAD is forwarded and answered without a body', async () => {
    const before = echo.requests.length;
    const res = await stack.get('echo.test', { method: 'HEAD', path: '/head?q=1' });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    const seen = echo.requests.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'HEAD');
    assert.equal(seen[0]!.url, '/head?q=1');
  });

  test('a chunked request body reaches the backend intact', async () => {
    const body = 'x'.repeat(100_000);
    const res = await stack.get('echo.test', { method: 'POST', body, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(json<EchoBody>(res).bodyLength, body.length);
  });

  test('the Host header reaches the backend unchanged (port and case included)', async () => {
    const res = await stack.get('Echo.Test:8080');
    assert.equal(json<EchoBody>(res).headers.host, 'Echo.Test:8080');
  });

  test('repeated request headers are all forwarded', async () => {
    const res = await stack.get('echo.test', { headers: ['X-Multi', 'one', 'X-Multi', 'two'] });
    const seen = json<EchoBody>(res).headers['x-multi'];
    assert.equal(seen, 'one, two');
  });

  test('repeated Set-Cookie response headers are kept separate', async () => {
    const res = await stack.get('cookies.test');
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly']);
  });

  test('X-Forwarded-For, X-Real-IP, X-Forwarded-Proto(-col) and -Port are added when missing', async () => {
    const h = json<EchoBody>(await stack.get('echo.test')).headers;
    assert.ok(LOCAL.includes(String(h['x-forwarded-for'])), `x-forwarded-for: ${h['x-forwarded-for']}`);
    assert.ok(LOCAL.includes(String(h['x-real-ip'])), `x-real-ip: ${h['x-real-ip']}`);
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-protocol'], 'http');
    assert.equal(h['x-forwarded-port'], String(stack.proxy.port));
  });

  test('X-Forwarded-* and X-Real-IP sent by the client are never overwritten', async () => {
    const sent = {
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-protocol': 'https',
      'x-forwarded-port': '443',
    };
    const h = json<EchoBody>(await stack.get('echo.test', { headers: sent })).headers;
    // Appending the peer to X-Forwarded-For is common proxy practice; replacing the client's value is not.
    assert.ok(String(h['x-forwarded-for']).startsWith('203.0.113.7'), `x-forwarded-for: ${h['x-forwarded-for']}`);
    assert.equal(h['x-real-ip'], '203.0.113.7');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-protocol'], 'https');
    assert.equal(h['x-forwarded-port'], '443');
  });

  test('X-Debug request header: the response carries the x-debug-* headers', async () => {
    const res = await stack.get('echo.test', { headers: { 'x-debug': '1' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-debug-backend-url'], echo.url);
    assert.equal(res.headers['x-debug-backend-id'], '0');
    assert.equal(res.headers['x-debug-vhost'], 'echo-site');
    assert.match(String(res.headers['x-debug-frontend-key']), /echo\.test/);
    assert.match(String(res.headers['x-debug-time-total']), /^\d+(\.\d+)?$/);
    assert.match(String(res.headers['x-debug-time-backend']), /^\d+(\.\d+)?$/);
  });

  test('X-Debug on a proxy error carries x-debug-error', async () => {
    const res = await stack.get('no-such-host.invalid', { headers: { 'x-debug': '1' } });
    assert.equal(res.status, 400);
    assert.ok(res.headers['x-debug-error'], 'x-debug-error present');
  });

  test('without X-Debug no x-debug-* header ever appears (success and error)', async () => {
    for (const host of ['echo.test', 'no-such-host.invalid']) {
      const res = await stack.get(host);
      const leaked = Object.keys(res.headers).filter((k) => k.startsWith('x-debug'));
      assert.deepEqual(leaked, [], `Host ${host}`);
    }
  });

  test('hop-by-hop request headers (Connection and those it names, Keep-Alive, TE, Trailer, Proxy-*) are not forwarded', async () => {
    // Raw bytes: Node's client refuses to send a Trailer header on a bodyless request.
    const conn = await RawConnection.open(stack.proxy.port);
    conn.write(
      'GET /hop HTTP/1.1\r\nHost: echo.test\r\nConnection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\n' +
        'Keep-Alive: timeout=5\r\nTE: trailers, deflate\r\nTrailer: X-Checksum\r\n' +
        'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\nProxy-Connection: keep-alive\r\nX-End-To-End: kept\r\n\r\n',
    );
    const res = await conn.readResponse().finally(() => conn.close());
    assert.equal(res.status, 200, res.body.toString());
    const h = (JSON.parse(res.body.toString()) as EchoBody).headers;
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection']) {
      assert.equal(h[name], undefined, `${name} must not reach the backend`);
    }
    assert.doesNotMatch(String(h.connection ?? ''), /x-secret-hop/i);
    assert.equal(h['x-end-to-end'], 'kept');
  });

  test('hop-by-hop response headers named by the backend Connection header are not forwarded', async () => {
    const res = await stack.get('hops.test');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend-hop'], undefined);
    assert.notEqual(res.headers['keep-alive'], 'timeout=100');
    assert.doesNotMatch(String(res.headers.connection ?? ''), /x-backend-hop/i);
    assert.equal(res.headers['x-kept'], 'yes');
  });
});
