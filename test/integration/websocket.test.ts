// SPEC §3 (WebSocket upgrades) and §5 (wss:// on the HTTPS listener):
// upgrades are routed, balanced and dead-skipping like requests; failures are
// answered at once with an HTTP error; misbehaving peers never hurt the proxy.
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, startWsBackend, type Backend, type WsBackend } from '../helpers/backends.js';
import { request } from '../helpers/http.js';
import { childPids } from '../helpers/processes.js';
import { startTlsStack, type TlsStack } from '../helpers/tls-stack.js';
import { waitFor } from '../helpers/wait.js';
import { connectWs, refusedUpgrade, type WsClient, type WsConnectOptions } from '../helpers/ws-client.js';

/** Well under tcpTimeout (2 s in the test config): an answer "at once", not a timeout. */
const AT_ONCE_MS = 1000;

describe('WebSocket through the proxy', () => {
  let stack: TlsStack;
  let a: WsBackend;
  let b: WsBackend;
  let plain: Backend;
  let seq = 0;
  const host = (label: string): string => `${label}-${++seq}.ws.test`;
  const ws = (h: string, o: Partial<WsConnectOptions> = {}): Promise<WsClient> => connectWs({ port: stack.httpPort, host: h, ...o });
  const refused = (h: string) => refusedUpgrade({ port: stack.httpPort, host: h });

  before(async () => {
    stack = await startTlsStack();
    a = await startWsBackend({ name: 'A' });
    b = await startWsBackend({ name: 'B' });
    plain = await startHttpBackend({ name: 'plain' });
  });

  /** Opens `n` WebSockets one after another and returns which backend answered each. */
  async function backendsOf(h: string, n: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const client = await ws(h);
      const reply = await client.echo(`m${i}`);
      names.push(reply.split(':')[0]!);
      client.close();
    }
    return names;
  }

  test('an upgrade is routed by Host to its backend and messages flow both ways', async () => {
    const [ha, hb] = [host('a'), host('b')];
    await stack.setFrontend(ha, 'site-a', a.url);
    await stack.setFrontend(hb, 'site-b', b.url);
    const before = a.upgrades.length;
    const ca = await ws(ha, { path: '/chat/room?x=1&y=%2F' });
    const cb = await ws(hb);
    assert.equal(await ca.echo('hello'), 'A:hello');
    assert.equal(await cb.echo('hello'), 'B:hello');
    assert.equal(await ca.echo(Buffer.from([1, 2, 255])), 'A:0102ff', 'binary frames');
    const big = 'x'.repeat(256 * 1024);
    assert.equal(await ca.echo(big), `A:${big}`, 'a 256 KiB message');
    assert.equal(a.upgrades[before]?.url, '/chat/room?x=1&y=%2F', 'path and query verbatim');
    assert.equal(a.upgrades[before]?.headers.host, ha, 'Host unchanged');

    // Server to client, unprompted.
    const [serverSide] = [...a.clients()];
    assert.ok(serverSide, 'the backend holds the connection');
    serverSide.send('pushed by the server');
    assert.equal(await ca.next(), 'pushed by the server');

    ca.close();
    cb.close();
    await ca.waitClosed();
    await cb.waitClosed();
  });

  test('upgrades are load-balanced over two backends', async () => {
    const h = host('lb');
    await stack.setFrontend(h, 'lb', a.url, b.url);
    const names = await backendsOf(h, 40); // odds of never seeing one of them: 2 * 2^-40
    assert.ok(names.includes('A') && names.includes('B'), `both backends used: ${names.join(',')}`);
  });

  test('a backend listed in dead:<host> gets no upgrades', async () => {
    const h = host('dead');
    await stack.setFrontend(h, 'dead', a.url, b.url);
    await stack.redis.cmd('SADD', `dead:${h}`, 0);
    const before = a.upgrades.length;
    const names = await backendsOf(h, 20);
    assert.deepEqual(new Set(names), new Set(['B']));
    assert.equal(a.upgrades.length, before, 'the dead backend saw no upgrade');
  });

  test('a refusing backend is retried on a live one and marked dead; the client sees no error', async () => {
    const refusing = await Promise.all([refusingPort(), refusingPort(), refusingPort()]);
    const h = host('retry');
    // Three refusing out of four: most first picks refuse, and retryOnError 3 reaches B.
    await stack.setFrontend(h, 'retry', ...refusing.map((p) => `http://127.0.0.1:${p}`), b.url);
    assert.deepEqual(new Set(await backendsOf(h, 10)), new Set(['B']));
    const dead = await waitFor(async () => {
      const members = await stack.redis.cmdList('SMEMBERS', `dead:${h}`);
      return members.length > 0 ? members : null;
    });
    assert.ok(dead.every((i) => ['0', '1', '2'].includes(i)), `only refusing backends marked dead: ${dead.join(',')}`);
  });

  test('with every backend refusing, the upgrade gets a 502 at once', async () => {
    const h = host('refuse-all');
    await stack.setFrontend(h, 'refuse-all', `http://127.0.0.1:${await refusingPort()}`, `http://127.0.0.1:${await refusingPort()}`);
    const two = await refused(h);
    assert.equal(two.status, 502);
    assert.ok(two.elapsedMs < AT_ONCE_MS, `answered in ${two.elapsedMs} ms`);

    const only = host('refuse-only');
    await stack.setFrontend(only, 'refuse-only', `http://127.0.0.1:${await refusingPort()}`);
    const one = await refused(only);
    assert.equal(one.status, 502);
    assert.ok(one.elapsedMs < AT_ONCE_MS, `answered in ${one.elapsedMs} ms`);
  });

  test('with every backend marked dead, or none listed, the upgrade gets a 502 at once', async () => {
    const h = host('all-dead');
    await stack.setFrontend(h, 'all-dead', a.url, b.url);
    await stack.redis.cmd('SADD', `dead:${h}`, 0, 1);
    const dead = await refused(h);
    assert.equal(dead.status, 502);
    assert.ok(dead.elapsedMs < AT_ONCE_MS, `answered in ${dead.elapsedMs} ms`);

    const empty = host('id-only');
    await stack.redis.cmd('RPUSH', `frontend:${empty}`, 'id-only');
    assert.equal((await refused(empty)).status, 502);
  });

  test('an upgrade for an unknown host gets a 400 at once', async () => {
    const unknown = await refused(host('unknown'));
    assert.equal(unknown.status, 400);
    assert.ok(unknown.elapsedMs < AT_ONCE_MS, `answered in ${unknown.elapsedMs} ms`);
  });

  test('the backend sees X-Forwarded-For/Proto/Protocol/Port and X-Real-IP on the upgrade', async () => {
    const h = host('xff');
    await stack.setFrontend(h, 'xff', a.url);
    const before = a.upgrades.length;
    const client = await ws(h);
    client.close();
    const headers = a.upgrades[before]!.headers;
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-real-ip'], '127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers['x-forwarded-protocol'], 'http');
    assert.equal(headers['x-forwarded-port'], String(stack.httpPort));
    assert.match(String(headers.upgrade), /websocket/i);

    // A value the client sent is kept, never overwritten.
    const kept = await ws(h, { headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' } });
    kept.close();
    const seen = a.upgrades[before + 1]!.headers;
    assert.equal(seen['x-forwarded-for'], '203.0.113.7');
    assert.equal(seen['x-forwarded-proto'], 'https');
  });

  test('200 abrupt client closes and backend kills leave the proxy serving', async () => {
    const h = host('abuse');
    const httpHost = host('plain');
    const doomed = await startWsBackend({ name: 'doomed' });
    await stack.setFrontend(h, 'abuse', a.url);
    await stack.setFrontend(httpHost, 'plain', plain.url);
    const workers = childPids(stack.proxy.pid);

    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          // One in four dies during the handshake (half of them mid-head), the others with a message in flight.
          if (i % 4 === 0) return destroyDuringHandshake(stack.httpPort, h, i % 8 === 0);
          const client = await ws(h);
          client.ws.send(`in flight ${batch}.${i}`);
          client.destroy();
        }),
      );
    }
    // Every tunnel whose client vanished is torn down on the backend side too
    // (earlier tests closed theirs cleanly), even when it vanished mid-handshake.
    await waitFor(() => a.clients().size === 0, { timeoutMs: 5000, message: 'backend connections released' });

    const d = host('doomed');
    await stack.setFrontend(d, 'doomed', doomed.url);
    const first = await Promise.all(Array.from({ length: 10 }, () => ws(d)));
    for (const c of first) assert.equal(await c.echo('hi'), 'doomed:hi');
    for (const serverSide of doomed.clients()) serverSide.terminate(); // the backend drops each connection
    await Promise.all(first.map((c) => c.waitClosed()));
    const second = await Promise.all(Array.from({ length: 10 }, () => ws(d)));
    await doomed.close(); // the backend process goes away entirely
    await Promise.all(second.map((c) => c.waitClosed()));

    const res = await request({ port: stack.httpPort, host: httpHost });
    assert.equal(res.status, 200, 'a normal request still works');
    const fresh = await ws(h);
    assert.equal(await fresh.echo('still here'), 'A:still here', 'a new WebSocket still works');
    fresh.close();
    assert.deepEqual(childPids(stack.proxy.pid), workers, 'no worker crashed or was replaced');
  });

  test('a WebSocket over wss:// (the HTTPS listener) works and says https', async () => {
    const h = host('wss');
    await stack.setFrontend(h, 'wss', a.url);
    const before = a.upgrades.length;
    const client = await connectWs({ port: stack.httpsPort, host: h, secure: true });
    assert.equal(await client.echo('secret'), 'A:secret');
    client.close();
    const headers = a.upgrades[before]!.headers;
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.equal(headers['x-forwarded-protocol'], 'https');
    assert.equal(headers['x-forwarded-port'], String(stack.httpsPort));
  });
});

/** Sends an upgrade request (all of it, or only part of its head), then resets the connection. */
function destroyDuringHandshake(port: number, host: string, partial: boolean): Promise<void> {
  const head =
    `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    (partial ? 'Sec-WebSocket-Ver' : 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(head);
      setImmediate(() => socket.resetAndDestroy());
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}
