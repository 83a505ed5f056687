// The test harness itself, so a failing product test is never a harness bug:
// a real redis-server, test backends and raw HTTP helpers.
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { describe, test } from 'node:test';
import { refusingPort, startHttpBackend, startWsBackend, type EchoBody } from '../helpers/backends.js';
import { json, rawRequest, RawConnection, request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import net from 'node:net';

describe('test harness', () => {
  test('redis: commands, lists, sets, TTL, restart to an empty dataset, kill', async (t) => {
    const redis = await startRedis({ args: ['--rename-command', 'CONFIG', ''], scope: t });
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(await redis.cmd('RPUSH', 'frontend:a.test', 'id', 'http://127.0.0.1:1'), '2');
    assert.deepEqual(await redis.cmdList('LRANGE', 'frontend:a.test', 0, -1), ['id', 'http://127.0.0.1:1']);
    await redis.cmd('LSET', 'frontend:a.test', 1, 'http://127.0.0.1:2');
    await redis.cmd('LREM', 'frontend:a.test', 0, 'id');
    assert.equal(await redis.cmd('LRANGE', 'frontend:a.test', 0, -1), 'http://127.0.0.1:2');
    await redis.cmd('SADD', 'dead:a.test', 0, 1);
    await redis.cmd('EXPIRE', 'dead:a.test', 30);
    assert.deepEqual((await redis.cmdList('SMEMBERS', 'dead:a.test')).sort(), ['0', '1']);
    assert.ok(Number(await redis.cmd('TTL', 'dead:a.test')) > 25);
    await assert.rejects(redis.cmd('CONFIG', 'GET', 'notify-keyspace-events'), /unknown command/i);
    await assert.rejects(redis.cmd('INCR', 'frontend:a.test'), /WRONGTYPE/);

    const messages: string[] = [];
    const sub = await redis.subscribe('dead', (m) => messages.push(m));
    await redis.cmd('PUBLISH', 'dead', 'a.test;http://127.0.0.1:2;0;2');
    await waitFor(() => messages.length === 1 && sub.messages.length === 1);
    assert.equal(messages[0], 'a.test;http://127.0.0.1:2;0;2');

    await redis.restart();
    assert.equal(await redis.cmd('EXISTS', 'frontend:a.test'), '0', 'fresh dataset after restart');
    await redis.cmd('PUBLISH', 'dead', 'after-restart'); // the subscriber reconnects on its own
    await waitFor(async () => (await redis.cmd('PUBLISH', 'dead', 'again')) !== '0' && messages.includes('again'));

    await redis.kill();
    const refused = await new Promise<boolean>((resolve) => {
      net.connect(redis.port, '127.0.0.1').on('error', () => resolve(true)).on('connect', () => resolve(false));
    });
    assert.ok(refused, 'port closed after kill');
  });

  test('http backend: JSON echo, options, recorded requests, close', async (t) => {
    const backend = await startHttpBackend({
      name: 'b1',
      status: 503,
      headers: { 'retry-after': '5', 'set-cookie': ['a=1', 'b=2'] },
      delayMs: 50,
      scope: t,
    });
    const res = await request({ port: backend.port, host: 'x.test', method: 'POST', path: '/p?q', body: 'abc' });
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    const echo = json<EchoBody>(res);
    assert.deepEqual([echo.name, echo.method, echo.url, echo.bodyLength], ['b1', 'POST', '/p?q', 3]);
    assert.equal(echo.headers.host, 'x.test');
    assert.equal(backend.requests.length, 1);
    assert.equal(backend.connections(), 1);
    await backend.close();
    await assert.rejects(request({ port: backend.port, host: 'x' }), /ECONNREFUSED/);
  });

  test('websocket backend echoes with its name and records the upgrade headers', async (t) => {
    const backend = await startWsBackend({ name: 'ws1', scope: t });
    const ws = new WebSocket(backend.wsUrl + '/chat', { headers: { 'x-test': 'yes' } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hello'));
      ws.on('message', (d) => resolve(String(d)));
      ws.on('error', reject);
    });
    ws.close();
    assert.equal(reply, 'ws1:hello');
    assert.equal(backend.upgrades[0]?.url, '/chat');
    assert.equal(backend.upgrades[0]?.headers['x-test'], 'yes');
  });

  test('refusingPort refuses; rawRequest and RawConnection speak raw HTTP', async (t) => {
    const port = await refusingPort();
    await assert.rejects(request({ port, host: 'x' }), /ECONNREFUSED/);
    assert.ok((await freePort()) > 0);

    const backend = await startHttpBackend({ name: 'raw', scope: t });
    const raw = await rawRequest(backend.port, 'GET /r HTTP/1.0\r\nHost: h\r\n\r\n');
    assert.equal(raw.status, 200);
    assert.equal(raw.closed, true);
    const open = await rawRequest(backend.port, 'GET /r HTTP/1.1\r\nHost: h\r\n', { timeoutMs: 200 });
    assert.equal(open.timedOut, true);

    const conn = await RawConnection.open(backend.port);
    conn.write('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n');
    const urls = [(await conn.readResponse()).body, (await conn.readResponse()).body].map((b) => JSON.parse(String(b)).url);
    assert.deepEqual(urls, ['/1', '/2']);
    conn.write('POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(JSON.parse(String((await conn.readResponse()).body)).bodyLength, 3);
    conn.close();
  });

  test('waitFor polls until true and reports the last error on timeout', async () => {
    let n = 0;
    assert.equal(await waitFor(() => ++n >= 3 && n, { intervalMs: 1 }), 3);
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 30, intervalMs: 5, message: 'never' },
      ),
      /never not met within 30 ms: last error: Error: boom/,
    );
  });
});
