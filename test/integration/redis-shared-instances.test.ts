// SPEC §5: many Switchyard instances share one Redis; config and dead marks
// are shared through it.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { deadMembers, nameOf, startProxy, type Proxy } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

describe('two instances sharing one Redis', () => {
  let redis: RedisServer;
  let a: Proxy;
  let b: Proxy;
  let good: Backend;
  let flaky: Backend;

  before(async () => {
    redis = await startRedis();
    good = await startHttpBackend({ name: 'good' });
    flaky = await startHttpBackend({ name: 'flaky', status: 503 });
    a = await startProxy({ driver: redis.url, server: { deadBackendTTL: 30 } });
    b = await startProxy({ driver: redis.url, server: { deadBackendTTL: 30 } });
  });

  test('a frontend written once is served by both instances on the next request', async () => {
    await redis.cmd('RPUSH', 'frontend:shared.test', 'shared', good.url);
    assert.equal(await a.who('shared.test'), 'good');
    assert.equal(await b.who('shared.test'), 'good');
  });

  test('a backend one instance marks dead is skipped by the other', async () => {
    await redis.cmd('RPUSH', 'frontend:marks.test', 'marks', good.url, flaky.url);
    // Instance A meets the failing backend (a 503 without Retry-After) and marks it.
    await waitFor(async () => {
      await a.get('marks.test');
      return (await deadMembers(redis, 'marks.test')).includes('1');
    }, { timeoutMs: 10_000, message: 'instance A never marked the 503 backend' });
    const before = flaky.requests.length;
    // Instance B never sent it a request yet learns the mark through Redis: no traffic reaches it.
    for (let i = 0; i < 40; i++) assert.equal(nameOf(await b.get('marks.test')), 'good');
    assert.equal(flaky.requests.length, before, 'instance B sent traffic to a backend marked dead by instance A');
  });
});
