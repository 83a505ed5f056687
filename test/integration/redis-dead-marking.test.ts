// SPEC §2 (dead:<host> sets, the `dead` channel) and §3 (passive health):
// which failures mark a backend dead, what is written to Redis, and how marks
// (the proxy's own and an external checker's) steer traffic.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, type Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer, type Subscription } from '../helpers/redis.js';
import { deadMembers, nameOf, startProxy, type Proxy } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

describe('dead marking through Redis (dead:<host>, PUBLISH dead)', () => {
  let redis: RedisServer;
  /** deadBackendTTL 30, deadBackendOn500 true. */
  let p: Proxy;
  /** deadBackendTTL 2, deadBackendOn500 false. */
  let q: Proxy;
  let live: Backend;
  let channel: Subscription;

  before(async () => {
    redis = await startRedis();
    channel = await redis.subscribe('dead');
    live = await startHttpBackend({ name: 'live' });
    p = await startProxy({ driver: redis.url, server: { deadBackendTTL: 30, deadBackendOn500: true } });
    q = await startProxy({ driver: redis.url, server: { deadBackendTTL: 2, deadBackendOn500: false } });
  });

  const setFrontend = async (host: string, ...items: string[]) => {
    await redis.cmd('DEL', `frontend:${host}`);
    await redis.cmd('RPUSH', `frontend:${host}`, ...items);
  };
  const messagesFor = (host: string) => channel.messages.filter((m) => m.startsWith(`${host};`));
  const refusedUrl = async () => `http://127.0.0.1:${await refusingPort()}`;

  /**
   * Sends requests until the proxy published a mark for `host` (backend choice
   * is random, so the failing backend is hit within a few requests), checking
   * each answer with `check`. Resolves the published message.
   */
  async function requestUntilMarked(proxy: Proxy, host: string, requestHost: string, check: (who: string, status: number) => void) {
    for (let i = 0; i < 60 && messagesFor(host).length === 0; i++) {
      const res = await proxy.get(requestHost);
      check(nameOf(res), res.status);
    }
    await waitFor(() => messagesFor(host).length > 0, { message: `a PUBLISH dead for ${host}` });
    return messagesFor(host)[0]!;
  }

  async function assertTtlAbout(host: string, ttl: number) {
    const left = Number(await redis.cmd('TTL', `dead:${host}`));
    assert.ok(left > 0 && left <= ttl && left >= ttl - 3, `TTL dead:${host} is ${left}, expected about ${ttl}`);
  }

  test('a backend refusing connections is marked (SADD, EXPIRE, PUBLISH) and the client never sees an error', async () => {
    const host = 'refuse.test';
    const refused = await refusedUrl();
    await setFrontend(host, 'refuse-site', refused, live.url);
    const message = await requestUntilMarked(p, host, host, (who, status) => {
      assert.equal(status, 200);
      assert.equal(who, 'live');
    });
    assert.equal(message, `${host};${refused};0;2`);
    assert.deepEqual(await deadMembers(redis, host), ['0']);
    await assertTtlAbout(host, 30);
    for (let i = 0; i < 10; i++) assert.equal(await p.who(host), 'live');
    assert.deepEqual(messagesFor(host), [`${host};${refused};0;2`], 'published exactly once');
  });

  test('a wildcard frontend gets one dead set per requested host, port stripped', async () => {
    const refused = await refusedUrl();
    await setFrontend('*.wild.test', 'wild-site', live.url, refused);
    const ok = (who: string, status: number) => assert.deepEqual([status, who], [200, 'live']);
    const message = await requestUntilMarked(p, 'a.wild.test', 'a.wild.test:8080', ok);
    assert.equal(message, `a.wild.test;${refused};1;2`);
    assert.deepEqual(await deadMembers(redis, 'a.wild.test'), ['1']);
    await assertTtlAbout('a.wild.test', 30);
    assert.equal(await redis.cmd('EXISTS', 'dead:*.wild.test'), '0');
    assert.equal(await redis.cmd('EXISTS', 'dead:b.wild.test'), '0', 'another host under the wildcard is not marked');
    // b.wild.test still tries the refusing backend, and gets its own mark.
    assert.equal(await requestUntilMarked(p, 'b.wild.test', 'b.wild.test', ok), `b.wild.test;${refused};1;2`);
    assert.deepEqual(await deadMembers(redis, 'b.wild.test'), ['1']);
  });

  for (const [status, headers] of [[502, {}], [503, {}], [504, {}], [500, {}]] as const) {
    test(`a backend answering ${status}${status === 503 ? ' without Retry-After' : ''} is marked dead; its answer passes through`, async () => {
      const host = `status${status}.test`;
      const bad = await startHttpBackend({ name: `bad${status}`, status, headers, body: `bad ${status}` });
      await setFrontend(host, 'status-site', bad.url, live.url);
      const message = await requestUntilMarked(p, host, host, (who, st) => {
        assert.ok((st === 200 && who === 'live') || (st === status && who === bad.name), `got ${st} from ${who}`);
      });
      assert.equal(message, `${host};${bad.url};0;2`);
      assert.deepEqual(await deadMembers(redis, host), ['0']);
      await assertTtlAbout(host, 30);
      const seen = bad.requests.length;
      for (let i = 0; i < 15; i++) assert.equal(await p.who(host), 'live');
      assert.equal(bad.requests.length, seen, 'a marked backend gets no traffic');
    });
  }

  const notMarked: [string, () => Proxy, number, Record<string, string>][] = [
    ['404', () => p, 404, {}],
    ['503 with Retry-After (maintenance)', () => p, 503, { 'retry-after': '30' }],
    ['500 when deadBackendOn500 is false', () => q, 500, {}],
  ];
  for (const [label, proxy, status, headers] of notMarked) {
    test(`a backend answering ${label} is not marked; the answer passes through`, async () => {
      const host = `keep${status}-${Object.keys(headers).length}.test`;
      const bad = await startHttpBackend({ name: `keep${status}`, status, headers, body: `answer ${status}` });
      await setFrontend(host, 'keep-site', bad.url, live.url);
      let passed = 0;
      // Were it marked, it would get no further request: five answers prove it is not.
      for (let i = 0; i < 200 && bad.requests.length < 5; i++) {
        const res = await proxy().get(host);
        if (nameOf(res) === 'live') continue;
        assert.equal(res.status, status);
        assert.equal(nameOf(res), bad.name);
        assert.equal(res.text, `answer ${status}`);
        if (headers['retry-after']) assert.equal(res.headers['retry-after'], headers['retry-after']);
        passed++;
      }
      assert.equal(passed, 5);
      assert.deepEqual(await deadMembers(redis, host), []);
      assert.deepEqual(messagesFor(host), []);
    });
  }

  test("a frontend's only backend is never marked (refusing or answering 502)", async () => {
    const refused = await refusedUrl();
    const bad = await startHttpBackend({ name: 'only502', status: 502, body: 'only 502' });
    await setFrontend('only-refusing.test', 'only', refused);
    await setFrontend('only-502.test', 'only', bad.url);
    for (let i = 0; i < 3; i++) {
      assert.equal((await p.get('only-refusing.test')).status, 502);
      const res = await p.get('only-502.test');
      assert.deepEqual([res.status, res.text], [502, 'only 502']);
    }
    assert.equal(bad.requests.length, 3, 'the only backend keeps getting every request');
    for (const host of ['only-refusing.test', 'only-502.test']) {
      assert.deepEqual(await deadMembers(redis, host), []);
      assert.deepEqual(messagesFor(host), []);
    }
  });

  test('a marked backend gets no traffic while marked, even healthy again, and rejoins when the mark expires', async () => {
    const host = 'flaky.test';
    let sick = true;
    const flaky = await startHttpBackend({
      name: 'flaky',
      handler: (_req, res) => {
        res.writeHead(sick ? 503 : 200, { 'x-backend-name': 'flaky', 'content-length': '2' });
        res.end('hi');
      },
    });
    await setFrontend(host, 'flaky-site', flaky.url, live.url);
    await requestUntilMarked(q, host, host, () => {});
    assert.deepEqual(await deadMembers(redis, host), ['0']);
    sick = false;
    const seen = flaky.requests.length;
    let whileMarked = 0;
    // Only requests sent with a comfortable margin before the mark expires count.
    while (Number(await redis.cmd('PTTL', `dead:${host}`)) > 300) {
      assert.equal(await q.who(host), 'live');
      whileMarked++;
    }
    assert.ok(whileMarked >= 3, `only ${whileMarked} requests while marked`);
    assert.equal(flaky.requests.length, seen, 'no traffic while marked');
    await waitFor(async () => (await q.who(host)) === 'flaky', { timeoutMs: 5000, intervalMs: 20, message: 'flaky rejoins after the TTL' });
  });

  test('marks written by an external checker are honoured at once; SREM and DEL revive at once', async () => {
    const host = 'external.test';
    const a = await startHttpBackend({ name: 'ext-a' });
    const b = await startHttpBackend({ name: 'ext-b' });
    await setFrontend(host, 'ext-site', a.url, b.url);
    const dead = `dead:${host}`;
    for (let trial = 0; trial < 15; trial++) {
      await redis.cmd('SADD', dead, 0);
      assert.equal(await p.who(host), 'ext-b', `trial ${trial}: after SADD 0`);
      await redis.cmd('SADD', dead, 1);
      assert.equal(await p.who(host), '<502>', `trial ${trial}: both dead`);
      await redis.cmd('SREM', dead, 0);
      assert.equal(await p.who(host), 'ext-a', `trial ${trial}: after SREM 0`);
      await redis.cmd('SADD', dead, 0);
      assert.equal(await p.who(host), '<502>', `trial ${trial}: both dead again`);
      await redis.cmd('DEL', dead);
      assert.equal((await p.get(host)).status, 200, `trial ${trial}: after DEL`);
    }
  });
});
