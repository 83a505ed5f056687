// Active health checks with Redis (SPEC §9): the verdict is a Hipache dead
// mark in `dead:<host>` that every instance follows, and one prober checks a
// backend at a time across instances and workers, once per interval however
// many frontends use it. The checked backends answer every other path with
// 200, so only the health checks can take them out of rotation.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { HEALTH_PATH, startCheckedBackend, type CheckedBackend } from '../helpers/health.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { deadMembers, startProxy, type Proxy } from '../helpers/redis-proxy.js';
import { delay, waitFor } from '../helpers/wait.js';

const INTERVAL_MS = 300;
const healthCheck = { path: HEALTH_PATH, interval: INTERVAL_MS / 1000, timeout: 0.2, unhealthyAfter: 2, healthyAfter: 3 };
const FRONTENDS = 50;

/** Health checks `backend` receives during `ms`. */
async function checksDuring(backend: CheckedBackend, ms: number): Promise<number> {
  const from = backend.checks().length;
  await delay(ms);
  return backend.checks().length - from;
}

describe('health checks with Redis, two instances of two workers', () => {
  let redis: RedisServer;
  let a: Proxy;
  let b: Proxy;
  let good: CheckedBackend;
  let flaky: CheckedBackend;
  const hosts = Array.from({ length: FRONTENDS }, (_, i) => `f${i}.health.test`);

  before(async () => {
    redis = await startRedis();
    good = await startCheckedBackend('good');
    flaky = await startCheckedBackend('flaky');
    // Many frontends share the two backends.
    for (const host of hosts) await redis.cmd('RPUSH', `frontend:${host}`, host, good.url, flaky.url);
    a = await startProxy({ driver: redis.url, server: { workers: 2, healthCheck } });
    b = await startProxy({ driver: redis.url, server: { workers: 2, healthCheck } });
  });

  test(`a backend used by ${FRONTENDS} frontends is checked about once per interval by all instances and workers together`, async () => {
    await waitFor(() => flaky.checks().length >= 3, { timeoutMs: 10_000, message: 'checks starting' });
    const windowMs = 3000;
    const checks = await checksDuring(flaky, windowMs);
    const expected = windowMs / INTERVAL_MS;
    assert.ok(checks >= expected * 0.5 && checks <= expected * 1.5, `${checks} checks in ${windowMs} ms, expected about ${expected} (one prober, one check per backend per interval)`);
    assert.ok(flaky.checks().every((r) => hosts.includes(String(r.headers.host))), 'each check carries the Host of a frontend using the backend');
  });

  test('a failing backend is marked in dead:<host> for every frontend, avoided by both instances, kept while failing, removed after healthyAfter passes', async () => {
    flaky.health = 500;
    await waitFor(async () => (await deadMembers(redis, hosts[0]!)).includes('1'), { timeoutMs: 10_000, message: 'dead:<host> holding the failing backend' });
    for (const host of hosts) assert.deepEqual(await deadMembers(redis, host), ['1'], `dead:${host}`);
    const ttl = Number(await redis.cmd('PTTL', `dead:${hosts[0]}`));
    assert.ok(ttl > 0, 'the mark has an expiry: a crashed prober does not leave it forever');
    const trafficBefore = flaky.traffic().length;
    for (const proxy of [a, b]) for (let i = 0; i < 20; i++) assert.equal(await proxy.who(hosts[i % FRONTENDS]!), 'good');
    assert.equal(flaky.traffic().length, trafficBefore, 'a request reached the backend marked dead');

    // Failing for several times the mark's TTL: it never lapses.
    const until = Date.now() + 3 * ttl;
    while (Date.now() < until) {
      assert.deepEqual(await deadMembers(redis, hosts[7]!), ['1'], 'the mark of a still-failing backend lapsed');
      await delay(100);
    }

    flaky.health = 200;
    const passingFrom = flaky.checks().length;
    await waitFor(() => flaky.checks().length >= passingFrom + 1, { timeoutMs: 5000, message: 'a first passing check' });
    assert.deepEqual(await deadMembers(redis, hosts[0]!), ['1'], 'one pass removed the mark (healthyAfter 3)');
    await waitFor(async () => (await deadMembers(redis, hosts[0]!)).length === 0, { timeoutMs: 10_000, message: 'the mark removed' });
    assert.ok(flaky.checks().length - passingFrom >= 3, 'the mark went before healthyAfter passes');
    for (const host of hosts) assert.deepEqual(await deadMembers(redis, host), [], `dead:${host}`);
    await waitFor(async () => (await a.who(hosts[3]!)) === 'flaky' || (await b.who(hosts[3]!)) === 'flaky', { timeoutMs: 5000, message: 'the backend back in rotation' });
  });

  test('an external checker\'s mark without expiry is left as it is', async () => {
    await redis.cmd('SADD', `dead:${hosts[1]}`, '0');
    await delay(4 * INTERVAL_MS);
    assert.deepEqual(await deadMembers(redis, hosts[1]!), ['0']);
    assert.equal(Number(await redis.cmd('PTTL', `dead:${hosts[1]}`)), -1);
    await redis.cmd('DEL', `dead:${hosts[1]}`);
  });

  test('when the instance checking goes away, the other takes over: one check per interval still, and the marks it finds kept', async () => {
    flaky.health = 503;
    await waitFor(async () => (await deadMembers(redis, hosts[0]!)).includes('1'), { timeoutMs: 10_000, message: 'the backend marked again' });
    // The instance that marked it is the one checking it: it goes.
    const [prober, other] = a.sy.logs().includes('status=503') ? [a, b] : [b, a];
    assert.ok(prober.sy.logs().includes('marked dead'), 'one of the instances logged the mark');
    await prober.sy.stop('SIGTERM');
    await delay(2000);
    assert.deepEqual(await deadMembers(redis, hosts[0]!), ['1'], 'the mark lapsed when the checking instance went away');
    const checks = await checksDuring(flaky, 3000);
    assert.ok(checks >= 5 && checks <= 15, `${checks} checks in 3 s after the takeover, expected about 10`);
    assert.ok(!other.sy.logs().includes('status=503'), 'the other instance found the mark and went on from it (it never marked it itself)');
    flaky.health = 200;
    await waitFor(async () => (await deadMembers(redis, hosts[0]!)).length === 0, { timeoutMs: 10_000, message: 'the mark removed by the remaining instance' });
    assert.ok(other.sy.logs().includes('revived'), 'the remaining instance revived it');
  });
});

describe('health checks set per vhost in Redis (options:<frontend>)', () => {
  test('HSET options:<host> healthCheck starts the checks of that vhost only, and its failing backend is marked in dead:<host>; HDEL stops them', async () => {
    const redis = await startRedis();
    const good = await startCheckedBackend('good');
    const flaky = await startCheckedBackend('flaky');
    const other = await startCheckedBackend('other');
    await redis.cmd('RPUSH', 'frontend:checked.health.test', 'checked', good.url, flaky.url);
    await redis.cmd('RPUSH', 'frontend:unchecked.health.test', 'unchecked', other.url, good.url);
    const proxy = await startProxy({ driver: redis.url, server: { workers: 1 } });
    try {
      await delay(4 * INTERVAL_MS);
      assert.equal(flaky.checks().length + other.checks().length, 0, 'checked without any healthCheck set');

      flaky.health = 500;
      await redis.cmd('HSET', 'options:checked.health.test', 'healthCheck', JSON.stringify(healthCheck));
      await waitFor(async () => (await deadMembers(redis, 'checked.health.test')).includes('1'), { timeoutMs: 10_000, message: 'dead:checked.health.test holding the failing backend' });
      for (let i = 0; i < 10; i++) assert.equal(await proxy.who('checked.health.test'), 'good');
      assert.equal(other.checks().length, 0, 'a vhost without healthCheck was checked');

      await redis.cmd('HDEL', 'options:checked.health.test', 'healthCheck');
      await delay(2000); // the prober asks for its targets every second
      const after = flaky.checks().length;
      await delay(4 * INTERVAL_MS);
      assert.equal(flaky.checks().length, after, 'still checked after the option was removed');
    } finally {
      await proxy.sy.stop('SIGTERM');
    }
  });
});

describe('a vhost whose only backend fails its checks', () => {
  test('the backend is marked in dead:<host> and the vhost answers 502 until it passes healthyAfter checks again', async () => {
    const redis = await startRedis();
    const lone = await startCheckedBackend('lone');
    await redis.cmd('RPUSH', 'frontend:lone.health.test', 'lone', lone.url);
    const proxy = await startProxy({ driver: redis.url, server: { workers: 1, healthCheck } });
    try {
      assert.equal(await proxy.who('lone.health.test'), 'lone');
      lone.health = 500;
      await waitFor(async () => (await deadMembers(redis, 'lone.health.test')).includes('0'), { timeoutMs: 10_000, message: 'dead:lone.health.test holding the only backend' });
      assert.equal(await proxy.who('lone.health.test'), '<502>');
      lone.health = 200;
      await waitFor(async () => (await deadMembers(redis, 'lone.health.test')).length === 0, { timeoutMs: 10_000, message: 'the mark removed' });
      assert.equal(await proxy.who('lone.health.test'), 'lone');
    } finally {
      await proxy.sy.stop('SIGTERM');
    }
  });
});
