// SPEC §3 "Redis unreachable or hung": requests keep being answered from the
// last known table at once; before any table was loaded they get 503 with
// Retry-After; after Redis comes back (restarted empty, its settings lost)
// change tracking is re-established and the proxy resynchronises.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refusingPort, startHttpBackend } from '../helpers/backends.js';
import { startRedis } from '../helpers/redis.js';
import { configGet, countLog, nameOf, startProxy, timed, type Proxy } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

interface Outcome {
  host: string;
  status: number;
  who: string;
  ms: number;
}

/** Sends requests for `hosts` round-robin, one at a time, until `until()` is true. */
async function traffic(proxy: Proxy, hosts: string[], until: () => boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; !until(); i++) {
    const host = hosts[i % hosts.length]!;
    const { value: res, ms } = await timed(() => proxy.get(host, { timeoutMs: 5000 }));
    outcomes.push({ host, status: res.status, who: nameOf(res), ms });
  }
  return outcomes;
}

function assertFast(outcomes: Outcome[], limitMs: number): void {
  const slow = outcomes.filter((o) => o.ms >= limitMs);
  assert.deepEqual(slow, [], `${slow.length} of ${outcomes.length} requests took ${limitMs} ms or more`);
}

const after = (ms: number) => {
  const end = Date.now() + ms;
  return () => Date.now() >= end;
};

describe('Redis outages', () => {
  const restartModes = [
    { tracking: 'auto', mode: 'keyspace', args: [] },
    { tracking: 'tracking', mode: 'tracking', args: ['--rename-command', 'CONFIG', ''] },
  ] as const;
  for (const { tracking, mode, args } of restartModes) {
    test(`Redis stopped under traffic: answered from the last known table, fast; restarted empty: ${mode} and sync resume`, async (t) => {
      const redis = await startRedis({ args: [...args], scope: t });
      const a = await startHttpBackend({ name: 'a', scope: t });
      const b = await startHttpBackend({ name: 'b', scope: t });
      const proxy = await startProxy({ driver: redis.url, redis: { tracking }, scope: t });
      const refused = `http://127.0.0.1:${await refusingPort()}`;
      await redis.cmd('RPUSH', 'frontend:up.test', 'site', a.url);
      await redis.cmd('RPUSH', 'frontend:mixed.test', 'site', refused, a.url);
      assert.equal(await proxy.who('up.test'), 'a');

      const warm = await traffic(proxy, ['up.test', 'mixed.test'], after(300));
      await redis.stop();
      const down = await traffic(proxy, ['up.test', 'mixed.test', 'unknown.test'], after(3000));
      for (const o of [...warm, ...down]) {
        const expected = o.host === 'unknown.test' ? [400, '<400>'] : [200, 'a'];
        assert.deepEqual([o.status, o.who], expected, `${o.host} while redis is ${warm.includes(o) ? 'up' : 'down'}`);
      }
      assertFast(down, 1000);
      assert.ok(down.length >= 20, `only ${down.length} requests in 3 s`);

      const snapshots = countLog(proxy.sy, 'redis snapshot loaded');
      await redis.restart(); // an empty dataset: notify-keyspace-events is back to ""
      if (mode === 'keyspace') {
        await waitFor(async () => (await configGet(redis, 'notify-keyspace-events')).includes('K'), {
          timeoutMs: 10_000,
          message: 'the proxy re-enabled keyspace notifications',
        });
      }
      await waitFor(() => countLog(proxy.sy, 'redis snapshot loaded') > snapshots, { timeoutMs: 10_000, message: 'a resync' });

      // Redis is the truth again, and writes are followed on the very next request.
      assert.equal(await proxy.who('up.test'), '<400>', 'the empty dataset was loaded');
      await redis.cmd('RPUSH', 'frontend:up.test', 'site', a.url);
      assert.equal(await proxy.who('up.test'), 'a');
      for (let i = 0; i < 10; i++) {
        await redis.cmd('RPUSH', `frontend:new${i}.test`, 'site', b.url);
        assert.equal(await proxy.who(`new${i}.test`), 'b', `new host ${i} after the restart`);
      }
      await redis.cmd('LSET', 'frontend:new0.test', 1, a.url);
      assert.equal(await proxy.who('new0.test'), 'a');
      const modes = [...proxy.sy.logs().matchAll(/following redis changes mode=([\w-]+)/g)].map((m) => m[1]);
      assert.deepEqual(modes, [mode], `still following changes by ${mode}`);
    });
  }

  test('started while Redis is down: 503 with Retry-After at once; routes served once Redis appears', async (t) => {
    const redis = await startRedis({ scope: t });
    const a = await startHttpBackend({ name: 'a', scope: t });
    await redis.stop();
    const proxy = await startProxy({ driver: redis.url, scope: t });
    for (let i = 0; i < 5; i++) {
      const { value: res, ms } = await timed(() => proxy.get('early.test'));
      assert.equal(res.status, 503);
      assert.ok(res.headers['retry-after'] !== undefined, 'Retry-After');
      assert.ok(ms < 1000, `503 after ${ms} ms`);
    }
    await redis.restart();
    await redis.cmd('RPUSH', 'frontend:early.test', 'site', a.url);
    await waitFor(async () => (await proxy.who('early.test')) === 'a', { timeoutMs: 10_000, message: 'early.test served' });
    await redis.cmd('RPUSH', 'frontend:later.test', 'site', a.url);
    assert.equal(await proxy.who('later.test'), 'a', 'changes followed once loaded');
  });

  for (const tracking of ['keyspace', 'per-request'] as const) {
    test(`a hung Redis (SIGSTOP) never makes requests wait (tracking "${tracking}")`, async (t) => {
      const redis = await startRedis({ scope: t });
      const a = await startHttpBackend({ name: 'a', scope: t });
      const b = await startHttpBackend({ name: 'b', scope: t });
      const proxy = await startProxy({ driver: redis.url, redis: { tracking }, scope: t });
      const refused = `http://127.0.0.1:${await refusingPort()}`;
      await redis.cmd('RPUSH', 'frontend:hung.test', 'site', a.url);
      await redis.cmd('RPUSH', 'frontend:mixed.test', 'site', refused, a.url);
      // Per-request mode learns a host when it is first requested: make both known.
      assert.equal(await proxy.who('hung.test'), 'a');
      assert.equal(await proxy.who('mixed.test'), 'a');

      redis.freeze();
      let hung: Outcome[];
      try {
        hung = await traffic(proxy, ['hung.test', 'mixed.test', 'unknown.test'], after(3000));
      } finally {
        redis.thaw();
      }
      for (const o of hung) {
        assert.deepEqual([o.status, o.who], o.host === 'unknown.test' ? [400, '<400>'] : [200, 'a'], o.host);
      }
      assertFast(hung, 1000);
      assert.ok(hung.length >= 20, `only ${hung.length} requests in 3 s`);

      // Thawed: changes are followed again.
      await redis.cmd('RPUSH', 'frontend:thawed.test', 'site', b.url);
      await waitFor(async () => (await proxy.who('thawed.test')) === 'b', { timeoutMs: 10_000, message: 'thawed.test served' });
      await redis.cmd('LSET', 'frontend:hung.test', 1, b.url);
      assert.equal(await proxy.who('hung.test'), 'b', 'read-your-writes after the thaw');
    });
  }
});
