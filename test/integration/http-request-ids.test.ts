// SPEC §8 "Request IDs": a trusted peer's X-Request-Id is kept, anyone
// else's replaced, and one is generated when none was sent; the backend gets
// exactly one, and it comes back on every answer (proxied, the proxy's own
// error pages, WebSocket 101 and non-101 answers). traceparent and tracestate
// pass through byte for byte. Trust as in SPEC §6: the default trusts
// loopback, ["10.0.0.0/8"] makes this test an untrusted client.
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { countedBackend, refusingPort, startWsBackend, type Counted, type WsBackend } from '../helpers/backends.js';
import { getRequest, headsBackend, identityProxy, type IdentityProxy } from '../helpers/identity.js';
import { startRawBackend, type RawBackend } from '../helpers/raw-backend.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const GENERATED = /^[0-9a-f]{32}$/;
const UPGRADE = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

/** Writes `request` on a fresh connection and resolves with the head of the answer, exactly as received. */
function answerHead(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const timer = setTimeout(() => socket.destroy(new Error(`no answer head within 5 s: ${data.toString('latin1')}`)), 5000);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(data.toString('latin1', 0, end));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before an answer head: ${data.toString('latin1')}`)));
  });
}

/** The values of header `name` (lower case) in a request or answer head, in order. */
function values(head: string | undefined, name: string): string[] {
  return (head ?? '')
    .split('\r\n')
    .slice(1)
    .filter((line) => line.slice(0, name.length + 1).toLowerCase() === `${name}:`)
    .map((line) => line.slice(name.length + 1).trim());
}

/** The one X-Request-Id of a head (fails on none or several). */
function onlyId(head: string | undefined, what: string): string {
  const ids = values(head, 'x-request-id');
  assert.equal(ids.length, 1, `${what}: exactly one X-Request-Id in\n${head}`);
  return ids[0]!;
}

/** A POST with a body: the fast front end hands its connection to node:http. */
function post(host: string, extra: string[] = [], path = '/form'): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra.map((l) => `${l}\r\n`).join('')}Content-Length: 5\r\n\r\nhello`;
}

describe('request ids', () => {
  let redis: RedisServer;
  let backend: Counted;
  let raw: RawBackend;
  let ws: WsBackend;
  let trusting: IdentityProxy;
  let wary: IdentityProxy;

  before(async () => {
    redis = await startRedis();
    backend = await headsBackend();
    raw = await startRawBackend();
    ws = await startWsBackend({ name: 'ws' });
    // Echoes the id it got and adds another: the client must still see one, the request's.
    const echoing = await countedBackend((socket, head) => {
      socket.write(`HTTP/1.1 200 OK\r\nX-Request-Id: ${values(head, 'x-request-id')[0]}\r\nx-request-id: other\r\nContent-Length: 2\r\n\r\nok`);
    });
    [trusting, wary] = await Promise.all([identityProxy(redis, {}), identityProxy(redis, { server: { trustedProxies: ['10.0.0.0/8'] } })]);
    await redis.cmd('RPUSH', 'frontend:rid.test', 'rid', backend.url);
    await redis.cmd('RPUSH', 'frontend:echo.rid.test', 'echo', echoing.url);
    await redis.cmd('RPUSH', 'frontend:raw.rid.test', 'raw', raw.url);
    await redis.cmd('RPUSH', 'frontend:ws.rid.test', 'ws', ws.url);
    await redis.cmd('RPUSH', 'frontend:refused.rid.test', 'refused', `http://127.0.0.1:${await refusingPort()}`);
  });

  /** Sends `request` through `proxy`; the id the backend got (exactly one) and the one answered. */
  async function ids(proxy: IdentityProxy, request: string): Promise<{ atBackend: string; answered: string }> {
    const count = backend.heads.length;
    const answered = onlyId(await answerHead(proxy.port, request), 'the answer');
    assert.equal(backend.heads.length, count + 1, 'one request reached the backend');
    return { atBackend: onlyId(backend.heads[count], 'the backend'), answered };
  }

  test('none sent: one is generated, the same at the backend and in the answer, new for every request', async () => {
    for (const request of [getRequest('rid.test'), post('rid.test')]) {
      const first = await ids(trusting, request);
      const second = await ids(trusting, request);
      assert.match(first.atBackend, GENERATED);
      assert.equal(first.answered, first.atBackend);
      assert.equal(second.answered, second.atBackend);
      assert.notEqual(first.atBackend, second.atBackend);
    }
  });

  test("a trusted peer's X-Request-Id is kept: the backend gets it, the client gets it back", async () => {
    for (const request of [getRequest('rid.test', ['X-Request-Id: lb-7f3a.1']), post('rid.test', ['x-request-id: lb-7f3a.2'])]) {
      const { atBackend, answered } = await ids(trusting, request);
      const sent = /lb-7f3a\.\d/.exec(request)![0];
      assert.deepEqual([atBackend, answered], [sent, sent]);
    }
  });

  test("an untrusted client's X-Request-Id is replaced, and never reaches the backend", async () => {
    for (const request of [getRequest('rid.test', ['X-Request-Id: forged-id']), post('rid.test', ['X-Request-Id: forged-id'])]) {
      const count = backend.heads.length;
      const { atBackend, answered } = await ids(wary, request);
      assert.match(atBackend, GENERATED);
      assert.equal(answered, atBackend);
      assert.ok(!backend.heads[count]!.includes('forged-id'), backend.heads[count]);
    }
  });

  test('a trusted peer\'s id that is too long, not visible ASCII, or sent twice is replaced', async () => {
    const bad = [['X-Request-Id: two words'], [`X-Request-Id: ${'x'.repeat(201)}`], ['X-Request-Id: caf\u00e9'], ['X-Request-Id: a', 'X-Request-Id: b']];
    for (const extra of bad) {
      const { atBackend, answered } = await ids(trusting, getRequest('rid.test', extra));
      assert.match(atBackend, GENERATED, extra.join(' | '));
      assert.equal(answered, atBackend);
    }
  });

  test("the proxy's own answers carry it: 400 unknown host, 502, __ping__", async () => {
    for (const host of ['unknown.rid.test', 'refused.rid.test']) {
      assert.equal(onlyId(await answerHead(trusting.port, getRequest(host, ['X-Request-Id: mine-1'])), host), 'mine-1');
      assert.match(onlyId(await answerHead(wary.port, getRequest(host, ['X-Request-Id: mine-1'])), host), GENERATED);
    }
    const ping = await answerHead(trusting.port, getRequest('__ping__'));
    assert.match(ping, /^HTTP\/1\.1 200 /);
    assert.match(onlyId(ping, '__ping__'), GENERATED);
  });

  test('the refusals made before any routing carry one too: CONNECT 405, a malformed request 400, an oversized head 431', async () => {
    const refused = [
      ['CONNECT', 'CONNECT rid.test:443 HTTP/1.1\r\nHost: rid.test:443\r\n\r\n', 405],
      ['a malformed request line', 'GET /a b c HTTP/1.1\r\nHost: rid.test\r\n\r\n', 400],
      ['a space before a colon', 'GET / HTTP/1.1\r\nHost: rid.test\r\nX-Request-Id : forged\r\n\r\n', 400],
      ['an oversized head', `GET / HTTP/1.1\r\nHost: rid.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ] as const;
    for (const [what, request, status] of refused) {
      const head = await answerHead(trusting.port, request);
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), what);
      assert.match(onlyId(head, what), GENERATED);
    }
  });

  test('a connection that sends no request within headersTimeout gets its 408 with one too', async () => {
    const hasty = await identityProxy(redis, { server: { headersTimeout: 1 } });
    const head = await answerHead(hasty.port, '');
    assert.match(head, /^HTTP\/1\.1 408 /);
    assert.match(onlyId(head, 'the 408'), GENERATED);
  });

  test('a backend that echoes X-Request-Id (or sends another) does not make the client get two', async () => {
    const head = await answerHead(trusting.port, getRequest('echo.rid.test', ['X-Request-Id: echoed-1']));
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.equal(onlyId(head, 'the answer'), 'echoed-1');
  });

  test('WebSocket: the backend gets it with the upgrade, the client with the 101', async () => {
    const kept = await answerHead(trusting.port, getRequest('ws.rid.test', [...UPGRADE, 'X-Request-Id: ws-kept']));
    assert.match(kept, /^HTTP\/1\.1 101 /);
    assert.equal(onlyId(kept, 'the 101'), 'ws-kept');
    assert.equal(ws.upgrades.at(-1)?.headers['x-request-id'], 'ws-kept');
    const replaced = await answerHead(wary.port, getRequest('ws.rid.test', [...UPGRADE, 'X-Request-Id: ws-forged']));
    assert.match(onlyId(replaced, 'the 101'), GENERATED);
    assert.equal(ws.upgrades.at(-1)?.headers['x-request-id'], onlyId(replaced, 'the 101'));
  });

  test('WebSocket: an upgrade answered otherwise (by the backend, or refused by the proxy) carries it too', async () => {
    const count = backend.heads.length;
    const relayed = await answerHead(trusting.port, getRequest('rid.test', UPGRADE));
    assert.match(relayed, /^HTTP\/1\.1 200 /);
    assert.equal(onlyId(relayed, 'the relayed answer'), onlyId(backend.heads[count], 'the backend'));
    assert.equal(onlyId(await answerHead(trusting.port, getRequest('echo.rid.test', [...UPGRADE, 'X-Request-Id: up-1'])), 'echoed'), 'up-1');
    for (const host of ['unknown.rid.test', 'refused.rid.test']) {
      const refused = await answerHead(trusting.port, getRequest(host, [...UPGRADE, 'X-Request-Id: up-2']));
      assert.match(refused, /^HTTP\/1\.1 (400|502) /);
      assert.equal(onlyId(refused, host), 'up-2');
    }
  });

  test('traceparent and tracestate reach the backend byte for byte, from any client', async () => {
    const trace = [
      'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      'TraceState: vendor=opaque/value;x=1 ,  other=2',
    ];
    let n = 0;
    for (const proxy of [trusting, wary]) {
      for (const [method, make] of [['GET', getRequest], ['POST', post]] as const) {
        const path = `/trace-${++n}`;
        assert.match(await answerHead(proxy.port, make('raw.rid.test', trace, path)), /^HTTP\/1\.1 200 /);
        // Every byte the backend received, on whichever pooled connection: this request's head.
        const text = raw.text();
        const at = text.indexOf(`${method} ${path} HTTP/1.1\r\n`);
        assert.ok(at >= 0, `${path} reached the backend`);
        const head = text.slice(at, text.indexOf('\r\n\r\n', at) + 2);
        assert.ok(head.includes(`\r\n${trace.join('\r\n')}\r\n`), `the trace lines, in order and intact, in:\n${head}`);
      }
    }
  });
});
