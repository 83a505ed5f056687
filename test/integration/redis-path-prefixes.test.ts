// SPEC §9 "Path prefixes" with the Hipache Redis protocol: frontend:<host>/<prefix>
// lists route the requests whose path they prefix, with read-your-writes in
// every change-following mode, dead:<host>/<prefix> marks of their own, and
// X-Debug naming the path frontend. Every trial must succeed on its first request.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, type Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer, type Subscription } from '../helpers/redis.js';
import { deadMembers, startProxy, waitForLog, type Proxy } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

const TRIALS = 20;
const NO_CONFIG = ['--rename-command', 'CONFIG', ''];

const MODES = [
  { mode: 'keyspace', redisArgs: [] },
  { mode: 'tracking', redisArgs: NO_CONFIG },
  { mode: 'per-request', redisArgs: NO_CONFIG },
] as const;

for (const { mode, redisArgs } of MODES) {
  describe(`path frontends in Redis, changes followed in "${mode}" mode`, () => {
    let redis: RedisServer;
    let proxy: Proxy;
    let site: Backend;
    let api: Backend;
    let v2: Backend;

    before(async () => {
      redis = await startRedis({ args: [...redisArgs] });
      site = await startHttpBackend({ name: 'site' });
      api = await startHttpBackend({ name: 'api' });
      v2 = await startHttpBackend({ name: 'v2' });
      proxy = await startProxy({ driver: redis.url, redis: { tracking: mode } });
      await waitForLog(proxy.sy, new RegExp(`redis snapshot loaded .*mode=${mode}`));
    });

    const host = (name: string) => `${name}.${mode}.test`;
    const who = (name: string, path: string) => proxy.who(host(name), { path });

    test('RPUSH frontend:<host>/<prefix>: the very next request under the prefix goes to it, the rest of the host does not', async () => {
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('RPUSH', `frontend:${host(`add${i}`)}`, 'site', site.url);
        assert.equal(await who(`add${i}`, '/api/users?id=1'), 'site', `trial ${i}: before the path key`);
        await redis.cmd('RPUSH', `frontend:${host(`add${i}`)}/api`, 'api', api.url);
        assert.equal(await who(`add${i}`, '/api/users?id=1'), 'api', `trial ${i}: under /api`);
        assert.equal(await who(`add${i}`, '/apiary'), 'site', `trial ${i}: /apiary is not under /api`);
      }
    });

    test('the longest prefix wins, added and deleted in turn', async () => {
      await redis.cmd('RPUSH', `frontend:${host('long')}`, 'site', site.url);
      await redis.cmd('RPUSH', `frontend:${host('long')}/api`, 'api', api.url);
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('RPUSH', `frontend:${host('long')}/api/v2`, 'v2', v2.url);
        assert.equal(await who('long', '/api/v2/x'), 'v2', `trial ${i}: /api/v2 added`);
        await redis.cmd('DEL', `frontend:${host('long')}/api/v2`);
        assert.equal(await who('long', '/api/v2/x'), 'api', `trial ${i}: /api/v2 deleted, /api serves`);
      }
    });

    test('DEL of the path key: the next request falls back to the host\'s own frontend', async () => {
      await redis.cmd('RPUSH', `frontend:${host('del')}`, 'site', site.url);
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('RPUSH', `frontend:${host('del')}/api`, 'api', api.url);
        assert.equal(await who('del', '/api'), 'api', `trial ${i}: added`);
        await redis.cmd('DEL', `frontend:${host('del')}/api`);
        assert.equal(await who('del', '/api'), 'site', `trial ${i}: deleted`);
      }
    });

    test('LREM of a path frontend\'s backend: the next request never goes to it', async () => {
      const key = `frontend:${host('lrem')}/api`;
      await redis.cmd('RPUSH', key, 'api', api.url, v2.url);
      for (let i = 0; i < TRIALS; i++) {
        const [gone, kept] = i % 2 === 0 ? [api, v2] : [v2, api];
        await redis.cmd('LREM', key, 0, gone.url);
        assert.equal(await who('lrem', '/api/x'), kept.name, `trial ${i}: after LREM ${gone.name}`);
        await redis.cmd('RPUSH', key, gone.url);
      }
    });

    test('a host with path frontends only: other paths fall back to the wildcard, then 400 once it is gone', async () => {
      await redis.cmd('RPUSH', `frontend:${host('only')}/api`, 'api', api.url);
      await redis.cmd('RPUSH', `frontend:*.${mode}.test`, 'wild', site.url);
      assert.equal(await who('only', '/api/x'), 'api');
      assert.equal(await who('only', '/other'), 'site');
      await redis.cmd('DEL', `frontend:*.${mode}.test`);
      assert.equal(await who('only', '/other'), '<400>');
    });

    test('an external dead:<host>/<prefix> mark steers the path frontend only', async () => {
      await redis.cmd('RPUSH', `frontend:${host('ext')}`, 'site', api.url, v2.url);
      await redis.cmd('RPUSH', `frontend:${host('ext')}/api`, 'api', api.url, v2.url);
      await redis.cmd('SADD', `dead:${host('ext')}/api`, '0');
      const underApi = new Set<string>();
      const elsewhere = new Set<string>();
      for (let i = 0; i < 30; i++) {
        underApi.add(await who('ext', '/api/x'));
        elsewhere.add(await who('ext', '/x'));
      }
      assert.deepEqual([...underApi], ['v2'], 'backend 0 of the path frontend is dead');
      assert.deepEqual([...elsewhere].sort(), ['api', 'v2'], 'the host\'s own frontend is not affected');
    });
  });
}

describe('path frontends in Redis: snapshot, X-Debug, the proxy\'s own dead marks', () => {
  let redis: RedisServer;
  let proxy: Proxy;
  let channel: Subscription;
  let live: Backend;

  before(async () => {
    redis = await startRedis();
    channel = await redis.subscribe('dead');
    live = await startHttpBackend({ name: 'live' });
    // Read by the first snapshot, not by a re-read: path keys load like host keys.
    await redis.cmd('RPUSH', 'frontend:snap.test/api/v1', 'snap-api', live.url);
    await redis.cmd('SADD', 'dead:snap.test/api/v1', '1');
    await redis.cmd('RPUSH', 'frontend:snap.test/api/', 'trailing-slash', live.url);
    proxy = await startProxy({ driver: redis.url, server: { deadBackendTTL: 30 } });
  });

  test('path keys present at start-up are served from the snapshot, with their dead sets', async () => {
    const res = await proxy.get('snap.test', { path: '/api/v1/x', headers: { 'x-debug': '1' } });
    assert.equal(res.headers['x-debug-frontend-key'], 'snap.test/api/v1');
    assert.equal(res.headers['x-debug-backend-id'], '0');
    assert.equal((await proxy.get('snap.test', { path: '/api' })).status, 400, 'no frontend for /api nor for the host ("/api/" never matches)');
    await redis.cmd('RPUSH', 'frontend:snap.test/api/v1', live.url);
    for (let i = 0; i < 10; i++) {
      const again = await proxy.get('snap.test', { path: '/api/v1', headers: { 'x-debug': '1' } });
      assert.equal(again.headers['x-debug-backend-id'], '0', 'backend 1 is dead under dead:snap.test/api/v1');
    }
  });

  test('a path key no request can match is logged with the reason, from the snapshot and from a re-read', async () => {
    await waitForLog(proxy.sy, /path frontend never matched by a request key=frontend:snap\.test\/api\/ reason=.*does not end with/);
    await redis.cmd('RPUSH', 'frontend:late.test//x', 'empty-segment', live.url);
    await waitForLog(proxy.sy, /path frontend never matched by a request key=frontend:late\.test\/\/x reason=.*empty/);
  });

  test('X-Debug names the matched path frontend, a wildcard\'s too', async () => {
    await redis.cmd('RPUSH', 'frontend:debug.test', 'site', live.url);
    await redis.cmd('RPUSH', 'frontend:debug.test/api', 'api-id', live.url);
    await redis.cmd('RPUSH', 'frontend:*.wild.test/api/v1', 'wild-api', live.url);
    const answer = async (host: string, path: string) => {
      const res = await proxy.get(host, { path, headers: { 'x-debug': '1' } });
      return [res.headers['x-debug-frontend-key'], res.headers['x-debug-vhost']];
    };
    assert.deepEqual(await answer('debug.test', '/api/x'), ['debug.test/api', 'api-id']);
    assert.deepEqual(await answer('debug.test', '/'), ['debug.test', 'site']);
    assert.deepEqual(await answer('a.wild.test', '/api/v1?x'), ['*.wild.test/api/v1', 'wild-api']);
  });

  test('a failing backend of a path frontend is marked under dead:<host>/<prefix>, the host\'s own frontend untouched', async () => {
    const refused = `http://127.0.0.1:${await refusingPort()}`;
    await redis.cmd('RPUSH', 'frontend:mark.test', 'site', refused, live.url);
    await redis.cmd('RPUSH', 'frontend:mark.test/api', 'api', refused, live.url);
    const published = () => channel.messages.filter((m) => m.startsWith('mark.test'));
    for (let i = 0; i < 60 && published().length === 0; i++) {
      const res = await proxy.get('mark.test', { path: '/api/x' });
      assert.equal(res.status, 200, 'the client never sees the failure');
    }
    await waitFor(() => published().length > 0, { message: 'a PUBLISH dead for mark.test/api' });
    assert.deepEqual(published(), [`mark.test/api;${refused};0;2`]);
    assert.deepEqual(await deadMembers(redis, 'mark.test/api'), ['0']);
    const ttl = Number(await redis.cmd('TTL', 'dead:mark.test/api'));
    assert.ok(ttl > 0 && ttl <= 30, `TTL ${ttl}`);
    assert.equal(await redis.cmd('EXISTS', 'dead:mark.test'), '0', 'the host\'s own dead set is not written');
  });
});
