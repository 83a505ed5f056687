// SPEC §1 (Redis adapter): whichever way changes are followed (keyspace
// notifications, client tracking where CONFIG is refused as on managed Redis,
// or a Redis read per request), a request sent after a redis-cli write has
// returned sees that write. Every trial must succeed on its first request.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, type Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer, type Subscription } from '../helpers/redis.js';
import { countLog, deadMembers, redisClient, startProxy, waitForLog, type Proxy, type RedisClient } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

const TRIALS = 30;
const NO_CONFIG = ['--rename-command', 'CONFIG', ''];

const MODES = [
  { mode: 'keyspace', redisArgs: [], tracking: 'keyspace' },
  { mode: 'tracking', redisArgs: NO_CONFIG, tracking: 'tracking' },
  { mode: 'per-request', redisArgs: NO_CONFIG, tracking: 'per-request' },
] as const;

for (const { mode, redisArgs, tracking } of MODES) {
  describe(`change tracking "${mode}" (redis.tracking: "${tracking}"${redisArgs.length ? ', CONFIG refused' : ''})`, () => {
    let redis: RedisServer;
    let client: RedisClient;
    let proxy: Proxy;
    let channel: Subscription;
    let a: Backend;
    let b: Backend;

    before(async () => {
      redis = await startRedis({ args: [...redisArgs] });
      client = await redisClient(redis.url);
      channel = await redis.subscribe('dead');
      a = await startHttpBackend({ name: 'a' });
      b = await startHttpBackend({ name: 'b' });
      proxy = await startProxy({ driver: redis.url, redis: { tracking } });
    });

    const host = (name: string) => `${name}.${mode}.test`;
    const key = (name: string) => `frontend:${host(name)}`;
    const who = (name: string) => proxy.who(host(name));

    test(`the log says changes are followed in "${mode}" mode`, async () => {
      await waitForLog(proxy.sy, `following redis changes mode=${mode}`);
      await waitForLog(proxy.sy, new RegExp(`redis snapshot loaded .*mode=${mode}`));
      if (mode !== 'keyspace') await assert.rejects(redis.cmd('CONFIG', 'GET', 'notify-keyspace-events'), /unknown command/i);
    });

    test('RPUSH of a new host: served on the very next request', async () => {
      for (let i = 0; i < TRIALS; i++) {
        const backend = i % 2 === 0 ? a : b;
        await redis.cmd('RPUSH', key(`new${i}`), 'site', backend.url);
        assert.equal(await who(`new${i}`), backend.name, `trial ${i}`);
      }
    });

    test('add after a miss: 400 for the unknown host, then RPUSH, then 200 at once', async () => {
      for (let i = 0; i < TRIALS; i++) {
        assert.equal(await who(`miss${i}`), '<400>', `trial ${i}: unknown host`);
        await redis.cmd('RPUSH', key(`miss${i}`), 'site', a.url);
        assert.equal(await who(`miss${i}`), 'a', `trial ${i}: added`);
      }
    });

    test('LSET replacing the backend: the next request goes to the new one', async () => {
      await redis.cmd('RPUSH', key('lset'), 'site', a.url);
      for (let i = 0; i < TRIALS; i++) {
        const backend = i % 2 === 0 ? b : a;
        await redis.cmd('LSET', key('lset'), 1, backend.url);
        assert.equal(await who('lset'), backend.name, `trial ${i}`);
      }
    });

    test('LREM of a backend: the next request never goes to it', async () => {
      await redis.cmd('RPUSH', key('lrem'), 'site', a.url, b.url);
      for (let i = 0; i < TRIALS; i++) {
        const [gone, kept] = i % 2 === 0 ? [a, b] : [b, a];
        await redis.cmd('LREM', key('lrem'), 0, gone.url);
        assert.equal(await who('lrem'), kept.name, `trial ${i}: after LREM ${gone.name}`);
        await redis.cmd('RPUSH', key('lrem'), gone.url);
        assert.equal((await proxy.get(host('lrem'))).status, 200);
      }
    });

    test('DEL of a frontend: the next request gets 400; RPUSH again: 200', async () => {
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('RPUSH', key('del'), 'site', a.url);
        assert.equal(await who('del'), 'a', `trial ${i}: after RPUSH`);
        await redis.cmd('DEL', key('del'));
        assert.equal(await who('del'), '<400>', `trial ${i}: after DEL`);
      }
    });

    test('MULTI DEL + RPUSH (a frontend changed atomically): the next request sees the new list', async () => {
      await redis.cmd('RPUSH', key('multi'), 'site', a.url);
      for (let i = 0; i < TRIALS; i++) {
        const backend = i % 2 === 0 ? b : a;
        await client.multi().del(key('multi')).rPush(key('multi'), ['site', backend.url]).exec();
        assert.equal(await who('multi'), backend.name, `trial ${i}`);
      }
    });

    test('dead marks written by a checker (SADD, SREM, DEL) apply to the next request', async () => {
      await redis.cmd('RPUSH', key('dead'), 'site', a.url, b.url);
      const dead = `dead:${host('dead')}`;
      for (let i = 0; i < 10; i++) {
        await redis.cmd('SADD', dead, 0);
        assert.equal(await who('dead'), 'b', `trial ${i}: after SADD 0`);
        await redis.cmd('SADD', dead, 1);
        assert.equal(await who('dead'), '<502>', `trial ${i}: both dead`);
        await redis.cmd('SREM', dead, 0);
        assert.equal(await who('dead'), 'a', `trial ${i}: after SREM 0`);
        await redis.cmd('SADD', dead, 0);
        assert.equal(await who('dead'), '<502>', `trial ${i}: both dead again`);
        await redis.cmd('DEL', dead);
        assert.equal((await proxy.get(host('dead'))).status, 200, `trial ${i}: after DEL`);
      }
    });

    test("the proxy's own dead marks are written to Redis and steer traffic", async () => {
      const refused = `http://127.0.0.1:${await refusingPort()}`;
      await redis.cmd('RPUSH', key('own'), 'site', refused, a.url);
      for (let i = 0; i < 40 && !channel.messages.some((m) => m.startsWith(`${host('own')};`)); i++) {
        assert.equal(await who('own'), 'a');
      }
      await waitFor(() => channel.messages.includes(`${host('own')};${refused};0;2`));
      assert.deepEqual(await deadMembers(redis, host('own')), ['0']);
      for (let i = 0; i < 10; i++) assert.equal(await who('own'), 'a');
    });

    test('none of these writes cost a full resync: one snapshot, at start', () => {
      assert.equal(countLog(proxy.sy, 'redis snapshot loaded'), 1);
      assert.equal(countLog(proxy.sy, 'replaced as a whole'), 0);
    });
  });
}

describe('redis.tracking "auto" (the default) picks what Redis offers', () => {
  for (const [args, mode] of [[[], 'keyspace'], [NO_CONFIG, 'tracking']] as const) {
    test(`${args.length ? 'CONFIG refused' : 'CONFIG allowed'}: "${mode}"`, async (t) => {
      const redis = await startRedis({ args: [...args], scope: t });
      const a = await startHttpBackend({ name: 'a', scope: t });
      const proxy = await startProxy({ driver: redis.url, scope: t });
      await waitForLog(proxy.sy, `following redis changes mode=${mode}`);
      for (let i = 0; i < 10; i++) {
        await redis.cmd('RPUSH', `frontend:auto${i}.test`, 'site', a.url);
        assert.equal(await proxy.who(`auto${i}.test`), 'a', `trial ${i}`);
      }
      assert.doesNotMatch(proxy.sy.logs(), /mode=per-request/);
    });
  }
});
