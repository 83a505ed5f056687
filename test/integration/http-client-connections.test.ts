// SPEC §3: client connections: HTTP/1.0, keep-alive routed per request,
// the request-head timeout (408) and the head size limit (431).
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { json, rawRequest, RawConnection, request } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** A head that never ends (server.headersTimeout is 1 s here). */
const PARTIAL_HEAD = 'GET /slow HTTP/1.1\r\nHost: one.test\r\nX-Partial: ';
const OVERSIZED_HEAD = `GET /big HTTP/1.1\r\nHost: one.test\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`;

describe('client connections', () => {
  let stack: Stack;
  let one: Backend;
  let two: Backend;

  before(async () => {
    stack = await startStack({ server: { headersTimeout: 1 } });
    one = await startHttpBackend({ name: 'one' });
    two = await startHttpBackend({ name: 'two' });
    await stack.setFrontend('one.test', 'site-one', one.url);
    await stack.setFrontend('two.test', 'site-two', two.url);
  });

  test('an HTTP/1.0 request is proxied and the connection closed after the answer', async () => {
    const res = await rawRequest(stack.proxy.port, 'GET /ten?x=1 HTTP/1.0\r\nHost: one.test\r\n\r\n', { timeoutMs: 5000 });
    assert.equal(res.timedOut, false, `connection not closed; got: ${res.text.slice(0, 300)}`);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.match(res.text, /"name":"one"/);
    assert.match(res.text, /"url":"\/ten\?x=1"/);
  });

  test('a keep-alive connection (Node agent) routes each request by its own Host', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports = new Set<number>();
      for (const host of ['one.test', 'two.test', 'one.test', 'two.test']) {
        const res = await request({ port: stack.proxy.port, host, agent });
        assert.equal(res.status, 200);
        assert.equal(json<EchoBody>(res).name, host.split('.')[0]);
        ports.add(res.localPort);
      }
      assert.equal(ports.size, 1, 'all four requests went over one kept-alive connection');
    } finally {
      agent.destroy();
    }
  });

  test('a 400 (no usable Host, or a host served nowhere here) ends the connection; a pipelined request behind it is not answered', async () => {
    for (const host of ['not a host', 'unknown.test', '']) {
      const res = await rawRequest(stack.proxy.port, `GET /first HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /second HTTP/1.1\r\nHost: one.test\r\n\r\n`);
      assert.equal(res.timedOut, false, `Host "${host}": the connection stays open; got ${res.text.slice(0, 200)}`);
      assert.equal(res.status, 400, res.text.slice(0, 200));
      assert.equal(res.text.match(/^HTTP\/1\.1 /gm)?.length, 1, `Host "${host}": one answer only`);
      assert.match(res.text, /^connection: close\r$/im);
    }
  });

  test('HTTP/1.1 keep-alive without any Connection header: several requests on one socket', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      for (const host of ['two.test', 'one.test', 'two.test']) {
        conn.write(`GET /ka HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(res.body.toString()).name, host.split('.')[0]);
        assert.equal(conn.isClosed, false);
      }
    } finally {
      conn.close();
    }
  });

  test('pipelined requests for different hosts are answered in order, each by its own backend', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write('GET /p1 HTTP/1.1\r\nHost: one.test\r\n\r\nGET /p2 HTTP/1.1\r\nHost: two.test\r\n\r\n');
      const first = JSON.parse((await conn.readResponse()).body.toString()) as EchoBody;
      const second = JSON.parse((await conn.readResponse()).body.toString()) as EchoBody;
      assert.deepEqual([first.name, first.url, second.name, second.url], ['one', '/p1', 'two', '/p2']);
    } finally {
      conn.close();
    }
  });

  test('a request head not complete within server.headersTimeout gets 408 and the connection closed', async () => {
    const started = Date.now();
    const res = await rawRequest(stack.proxy.port, PARTIAL_HEAD, { timeoutMs: 8000 });
    assert.equal(res.timedOut, false, `still open after 8 s (headersTimeout is 1 s); got: ${res.text}`);
    assert.equal(res.status, 408, res.text);
    assert.ok(Date.now() - started >= 900, 'not before the timeout');
    assert.ok(one.requests.every((r) => r.url !== '/slow'));
  });

  test('a slow client does not delay other clients', async () => {
    const slow = rawRequest(stack.proxy.port, 'GET /slow2 HTTP/1.1\r\nHost: one.test\r\n', { timeoutMs: 8000 });
    const res = await request({ port: stack.proxy.port, host: 'two.test', timeoutMs: 900 });
    assert.equal(res.status, 200);
    await slow;
  });

  test('an oversized request head (100 KB header) gets 431', async () => {
    const res = await rawRequest(stack.proxy.port, OVERSIZED_HEAD, { timeoutMs: 5000 });
    assert.equal(res.status, 431, res.text.slice(0, 300) || `nothing received (${res.error ?? 'closed'})`);
    assert.ok(one.requests.every((r) => r.url !== '/big'));
  });

  test('the proxy keeps serving after malformed connections: a head that times out, an oversized head, garbage, a reset mid-head', async () => {
    const reset = await RawConnection.open(stack.proxy.port);
    reset.write('GET /reset HTTP/1.1\r\nHost: one');
    const answers = await Promise.all([
      rawRequest(stack.proxy.port, PARTIAL_HEAD, { timeoutMs: 8000 }),
      rawRequest(stack.proxy.port, OVERSIZED_HEAD),
      rawRequest(stack.proxy.port, '\x00\x01 not HTTP\r\n\r\n'),
      new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => reset.socket.resetAndDestroy()),
    ]);
    assert.deepEqual(answers.slice(0, 3).map((a) => a.status), [408, 431, 400]);
    const res = await stack.get('one.test');
    assert.equal(res.status, 200);
  });
});
