// SPEC §3 retries and timeouts: retryOnError, 502 when no backend is left,
// 504 for a backend slower than tcpTimeout, request bodies across a retry,
// and backends that send fewer or more body bytes than they declared.
// Backend choice is random, so wildcard frontends give every trial a fresh
// requested host, hence a fresh dead set: each trial starts with all backends live.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { json, RawConnection } from '../helpers/http.js';
import { startRedis, type RedisServer, type Subscription } from '../helpers/redis.js';
import { deadMembers, nameOf, startProxy, startRawBackend, timed, type Proxy } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

describe('retries and timeouts', () => {
  let redis: RedisServer;
  let channel: Subscription;
  /** retryOnError 3, tcpTimeout 1 s. */
  let r3: Proxy;
  let r1: Proxy;
  let r0: Proxy;
  let live: Backend;

  before(async () => {
    redis = await startRedis();
    channel = await redis.subscribe('dead');
    live = await startHttpBackend({ name: 'live' });
    r3 = await startProxy({ driver: redis.url, server: { retryOnError: 3, tcpTimeout: 1 } });
    r1 = await startProxy({ driver: redis.url, server: { retryOnError: 1 } });
    r0 = await startProxy({ driver: redis.url, server: { retryOnError: 0 } });
  });

  const setFrontend = (key: string, ...items: string[]) => redis.cmd('RPUSH', `frontend:${key}`, 'site', ...items);
  const refused = async () => `http://127.0.0.1:${await refusingPort()}`;
  const requestsFor = (backend: Backend, host: string) => backend.requests.filter((r) => r.headers.host === host).length;

  test('3 refusing backends and 1 live: every request succeeds (retryOnError 3)', async () => {
    await setFrontend('*.three.test', await refused(), await refused(), live.url, await refused());
    const hosts = Array.from({ length: 40 }, (_, i) => `t${i}.three.test`);
    for (const host of hosts) {
      const res = await r3.get(host);
      assert.deepEqual([res.status, nameOf(res)], [200, 'live'], host);
    }
    // Some trial had to try all three refusing backends before the live one.
    await waitFor(
      async () => {
        for (const host of hosts) if ((await deadMembers(redis, host)).join() === '0,1,3') return true;
        return false;
      },
      { message: 'a request that was retried three times' },
    );
  });

  test('every backend refusing: 502, and the next request too (all dead)', async () => {
    await setFrontend('all-refusing.test', await refused(), await refused());
    assert.equal((await r3.get('all-refusing.test')).status, 502);
    await waitFor(async () => (await deadMembers(redis, 'all-refusing.test')).join() === '0,1');
    assert.equal((await r3.get('all-refusing.test')).status, 502);
  });

  test('retryOnError 0: a refused connection is not retried (502), the live backend never asked', async () => {
    await setFrontend('*.zero.test', await refused(), live.url);
    const outcomes = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const host = `z${i}.zero.test`;
      const res = await r0.get(host);
      outcomes.add(String(res.status));
      if (res.status === 502) assert.equal(requestsFor(live, host), 0, `${host}: no retry on the live backend`);
      else assert.deepEqual([res.status, nameOf(res)], [200, 'live']);
    }
    assert.deepEqual([...outcomes].sort(), ['200', '502']);
  });

  test('retryOnError 1: one retry after a refusal, so two refusing backends in a row give 502', async () => {
    await setFrontend('*.one.test', await refused(), await refused(), live.url);
    const failures: string[] = [];
    let successes = 0;
    for (let i = 0; i < 40; i++) {
      const host = `o${i}.one.test`;
      const res = await r1.get(host);
      if (res.status === 502) failures.push(host);
      else {
        assert.deepEqual([res.status, nameOf(res)], [200, 'live']);
        successes++;
      }
    }
    assert.ok(failures.length > 0 && successes > 0, `${failures.length} failures, ${successes} successes`);
    for (const host of failures) {
      await waitFor(async () => (await deadMembers(redis, host)).join() === '0,1', { message: `${host}: both refusing backends tried` });
      assert.equal(requestsFor(live, host), 0);
    }
  });

  /** Resolves once every mark `proxy` published before this call has reached the `dead` channel. */
  async function flushMarks(proxy: Proxy, tag: string): Promise<void> {
    const host = `sentinel-${tag}.test`;
    await setFrontend(host, await refused(), await refused());
    assert.equal((await proxy.get(host)).status, 502); // its first attempt always fails and is published
    await waitFor(() => channel.messages.some((m) => m.startsWith(`${host};`)), { message: `the ${tag} sentinel mark` });
  }

  for (const [name, retries, backends] of [['r0', 0, 2], ['r1', 1, 3], ['r3', 3, 5]] as const) {
    test(`retryOnError ${retries}: with only refusing backends, exactly ${retries + 1} attempt(s), then 502`, async () => {
      const proxy = { r0, r1, r3 }[name];
      const host = `bound-${name}.test`;
      await setFrontend(host, ...(await Promise.all(Array.from({ length: backends }, refused))));
      assert.equal((await proxy.get(host)).status, 502);
      await flushMarks(proxy, name);
      assert.equal(channel.messages.filter((m) => m.startsWith(`${host};`)).length, retries + 1);
      assert.equal((await deadMembers(redis, host)).length, retries + 1);
    });
  }

  test('a backend slower than tcpTimeout: 504 at about tcpTimeout, never the late answer', async () => {
    let late = 0;
    const slow = await startHttpBackend({
      name: 'slow',
      handler: (_req, res) => {
        setTimeout(() => {
          late++;
          res.writeHead(200, { 'x-backend-name': 'slow', 'content-type': 'text/plain' });
          res.end('the late answer');
        }, 2500);
      },
    });
    await setFrontend('slow.test', slow.url);
    await setFrontend('fast.test', live.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { value: res, ms } = await timed(() => r3.get('slow.test', { agent }));
      assert.equal(res.status, 504);
      assert.ok(ms >= 900 && ms < 2400, `504 after ${ms} ms`);
      assert.equal(res.headers['x-backend-name'], undefined);
      assert.doesNotMatch(res.text, /late answer/);
      await waitFor(() => late === 1, { timeoutMs: 5000, message: 'the slow backend answered (late)' });
      const next = await r3.get('fast.test', { agent });
      assert.deepEqual([next.status, nameOf(next)], [200, 'live']);
      assert.doesNotMatch(next.text, /late answer/);
    } finally {
      agent.destroy();
    }
  });

  test('a timed-out backend is marked dead when the frontend has another one', async () => {
    const slow = await startHttpBackend({ name: 'slow2', delayMs: 2500 });
    await setFrontend('*.slowpair.test', slow.url, live.url);
    let host = '';
    for (let i = 0; i < 30 && host === ''; i++) {
      const res = await r3.get(`s${i}.slowpair.test`);
      if (res.status === 504) host = `s${i}.slowpair.test`;
      else assert.deepEqual([res.status, nameOf(res)], [200, 'live']);
    }
    assert.notEqual(host, '', 'the slow backend was picked at least once');
    await waitFor(async () => (await deadMembers(redis, host)).join() === '0');
    // The PUBLISH reaches the test's subscriber on its own connection: wait for it, then count.
    const published = () => channel.messages.filter((m) => m === `${host};${slow.url};0;2`).length;
    await waitFor(() => published() > 0, { message: 'the dead message for the slow backend' });
    assert.equal(published(), 1);
    assert.equal(await r3.who(host), 'live');
  });

  test('a POST retried after a refused connection reaches the live backend with its body intact', async () => {
    await setFrontend('*.post.test', await refused(), live.url);
    const body = randomBytes(256 * 1024);
    const sha = createHash('sha256').update(body).digest('hex');
    const hosts: string[] = [];
    for (let i = 0; i < 24; i++) {
      const host = `p${i}.post.test`;
      hosts.push(host);
      const headers = i % 2 === 0 ? {} : { 'transfer-encoding': 'chunked' };
      const res = await r3.get(host, { method: 'POST', path: `/upload/${i}`, body, headers });
      assert.equal(res.status, 200, `${host}: ${res.text.slice(0, 200)}`);
      const echo = json<EchoBody>(res);
      assert.deepEqual([echo.name, echo.method, echo.url, echo.bodyLength, echo.bodySha256], ['live', 'POST', `/upload/${i}`, body.length, sha]);
    }
    // At least one of those requests was retried (its host got a dead mark).
    await waitFor(() => channel.messages.some((m) => hosts.some((h) => m.startsWith(`${h};`))), { message: 'a retried POST' });
  });

  test('a backend sending fewer bytes than its Content-Length: the client sees an aborted response; others are served', async () => {
    const short = await startRawBackend((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Backend-Name: short\r\n\r\n${'a'.repeat(500)}`);
    });
    await setFrontend('short.test', short.url);
    await setFrontend('fine.test', live.url);
    for (let i = 0; i < 5; i++) {
      const conn = await RawConnection.open(r3.sy.port);
      try {
        conn.write('GET / HTTP/1.1\r\nHost: short.test\r\n\r\n');
        const { value: outcome, ms } = await timed(() => conn.readResponse({ timeoutMs: 5000 }).then((r) => r, (e: Error) => e));
        assert.ok(outcome instanceof Error, `a complete response arrived: ${JSON.stringify(outcome)}`);
        assert.match(outcome.message, /connection closed/, 'closed, not hanging');
        assert.ok(ms < 3000, `the abort took ${ms} ms`);
      } finally {
        conn.close();
      }
      assert.deepEqual([(await r3.get('fine.test')).status, await r3.who('fine.test')], [200, 'live']);
    }
    assert.ok(short.heads.length >= 5);
    assert.doesNotMatch(r3.sy.logs(), /worker died/);
  });

  test('a backend sending more bytes than its Content-Length: the client gets exactly the declared bytes', async () => {
    const long = await startRawBackend((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Backend-Name: long\r\n\r\n0123456789EXTRA-BYTES-THAT-MUST-NOT-LEAK');
    });
    await setFrontend('long.test', long.url);
    await setFrontend('after-long.test', live.url);
    for (let i = 0; i < 5; i++) {
      const conn = await RawConnection.open(r3.sy.port);
      try {
        conn.write('GET / HTTP/1.1\r\nHost: long.test\r\n\r\n');
        const first = await conn.readResponse();
        assert.equal(first.status, 200);
        assert.equal(first.body.toString(), '0123456789');
        // The next answer on the same connection starts right after the declared bytes.
        conn.write('GET /next HTTP/1.1\r\nHost: after-long.test\r\n\r\n');
        const second = await conn.readResponse();
        assert.equal(second.status, 200);
        assert.equal(JSON.parse(second.body.toString()).name, 'live');
      } finally {
        conn.close();
      }
    }
    assert.deepEqual([(await r3.get('after-long.test')).status, await r3.who('after-long.test')], [200, 'live']);
  });
});
