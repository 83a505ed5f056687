// SPEC §9 "Per-vhost options in Redis": the hash options:<frontend>, one JSON
// value per field, gives a Redis frontend the options a vhosts-file host has
// (redirectHttps, hsts, tcpTimeout, retryOnError, id, stripPrefix), followed
// with read-your-writes in every change-following mode: a request sent after
// HSET/HDEL/DEL returned is served by the new options, on its first try.
// A bad value is refused (logged with key and field, shown in /status) and
// the last good options stay.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { hipacheConfig } from '../helpers/config.js';
import { httpsRequest, request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { echoName, startProxy, startRawBackend, waitForLog, type Proxy } from '../helpers/redis-proxy.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const TRIALS = 10;
const NO_CONFIG = ['--rename-command', 'CONFIG', ''];

const MODES = [
  { mode: 'keyspace', redisArgs: [] },
  { mode: 'tracking', redisArgs: NO_CONFIG },
  { mode: 'per-request', redisArgs: NO_CONFIG },
] as const;

for (const { mode, redisArgs } of MODES) {
  describe(`options:<frontend> hashes, changes followed in "${mode}" mode`, () => {
    let redis: RedisServer;
    let proxy: Proxy;
    let site: Backend;
    let api: Backend;

    before(async () => {
      redis = await startRedis({ args: [...redisArgs] });
      site = await startHttpBackend({ name: 'site' });
      api = await startHttpBackend({ name: 'api' });
      proxy = await startProxy({ driver: redis.url, redis: { tracking: mode } });
      await waitForLog(proxy.sy, new RegExp(`redis snapshot loaded .*mode=${mode}`));
    });

    const host = (name: string) => `${name}.${mode}.test`;

    test('HSET redirectHttps true: the very next plain request is redirected; HDEL: the next one is proxied', async () => {
      await redis.cmd('RPUSH', `frontend:${host('redirect')}`, 'site', site.url);
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('HSET', `options:${host('redirect')}`, 'redirectHttps', 'true');
        const redirected = await proxy.get(host('redirect'), { path: `/p${i}?q=1` });
        assert.equal(redirected.status, 308, `trial ${i}: after HSET`);
        assert.equal(redirected.headers.location, `https://${host('redirect')}/p${i}?q=1`);
        await redis.cmd('HDEL', `options:${host('redirect')}`, 'redirectHttps');
        assert.equal(await proxy.who(host('redirect')), 'site', `trial ${i}: after HDEL`);
      }
    });

    test('HSET sticky: the very next answer sets the cookie, and a request carrying it stays on its backend; HDEL: no cookie', async () => {
      await redis.cmd('RPUSH', `frontend:${host('sticky')}`, 'sticky', site.url, api.url);
      await redis.cmd('HSET', `options:${host('sticky')}`, 'sticky', JSON.stringify({ cookie: 'SRV' }));
      const first = await proxy.get(host('sticky'));
      const setCookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []).find((c) => c.startsWith('SRV='));
      assert.ok(setCookie !== undefined, 'no SRV cookie after HSET sticky');
      const cookie = setCookie.split(';')[0]!;
      const named = first.headers['x-backend-name'];
      for (let i = 0; i < TRIALS; i++) assert.equal(await proxy.who(host('sticky'), { headers: { cookie } }), named, `trial ${i}: the cookie's backend`);
      await redis.cmd('HDEL', `options:${host('sticky')}`, 'sticky');
      const after = await proxy.get(host('sticky'));
      assert.equal(([] as string[]).concat(after.headers['set-cookie'] ?? []).some((c) => c.startsWith('SRV=')), false, 'a cookie after HDEL sticky');
    });

    test('DEL of the options hash: the next request is served without them', async () => {
      await redis.cmd('RPUSH', `frontend:${host('del')}`, 'site', site.url);
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('HSET', `options:${host('del')}`, 'redirectHttps', 'true', 'hsts', '600');
        assert.equal((await proxy.get(host('del'))).status, 308, `trial ${i}: after HSET`);
        await redis.cmd('DEL', `options:${host('del')}`);
        assert.equal(await proxy.who(host('del')), 'site', `trial ${i}: after DEL`);
      }
    });

    test('HSET id: X-Debug names the vhost by it at once; HDEL: the list\'s identifier again', async () => {
      await redis.cmd('RPUSH', `frontend:${host('id')}`, 'from-list', site.url);
      const vhost = async () => (await proxy.get(host('id'), { headers: { 'x-debug': '1' } })).headers['x-debug-vhost'];
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('HSET', `options:${host('id')}`, 'id', JSON.stringify(`named-${i}`));
        assert.equal(await vhost(), `named-${i}`, `trial ${i}: after HSET`);
        await redis.cmd('HDEL', `options:${host('id')}`, 'id');
        assert.equal(await vhost(), 'from-list', `trial ${i}: after HDEL`);
      }
    });

    test('stripPrefix on a path frontend: the very next request reaches the backend without the prefix', async () => {
      await redis.cmd('RPUSH', `frontend:${host('strip')}/api`, 'api', api.url);
      const path = async () => JSON.parse((await proxy.get(host('strip'), { path: '/api/v1/users?x=1' })).text).url as string;
      for (let i = 0; i < TRIALS; i++) {
        await redis.cmd('HSET', `options:${host('strip')}/api`, 'stripPrefix', 'true');
        assert.equal(await path(), '/v1/users?x=1', `trial ${i}: after HSET`);
        await redis.cmd('HSET', `options:${host('strip')}/api`, 'stripPrefix', 'false');
        assert.equal(await path(), '/api/v1/users?x=1', `trial ${i}: after HSET false`);
      }
    });

    test('a host\'s options cover its path frontends, which override them', async () => {
      await redis.cmd('RPUSH', `frontend:${host('cover')}`, 'site', site.url);
      await redis.cmd('RPUSH', `frontend:${host('cover')}/api`, 'api', api.url);
      await redis.cmd('HSET', `options:${host('cover')}`, 'redirectHttps', 'true');
      assert.equal((await proxy.get(host('cover'), { path: '/api/x' })).status, 308, 'the host\'s redirectHttps covers /api');
      await redis.cmd('HSET', `options:${host('cover')}/api`, 'redirectHttps', 'false');
      assert.equal(echoName(await proxy.get(host('cover'), { path: '/api/x' })), 'api', '/api overrides it');
      assert.equal((await proxy.get(host('cover'), { path: '/x' })).status, 308, 'the host itself still redirects');
      await redis.cmd('DEL', `options:${host('cover')}`);
      assert.equal(await proxy.who(host('cover'), { path: '/x' }), 'site', 'host options gone');
    });

    test('options written before their frontend are held, and apply when it appears', async () => {
      await redis.cmd('HSET', `options:${host('early')}`, 'redirectHttps', 'true');
      assert.equal((await proxy.get(host('early'))).status, 400, 'no frontend yet');
      await redis.cmd('RPUSH', `frontend:${host('early')}`, 'site', site.url);
      assert.equal((await proxy.get(host('early'))).status, 308, 'the held options apply to the new frontend');
      await redis.cmd('DEL', `frontend:${host('early')}`);
      await redis.cmd('RPUSH', `frontend:${host('early')}`, 'site', site.url);
      assert.equal((await proxy.get(host('early'))).status, 308, 'and to the frontend written again');
    });

    test('RENAME of an options hash and EXPIRE: followed like any key', async () => {
      await redis.cmd('RPUSH', `frontend:${host('moved')}`, 'site', site.url);
      await redis.cmd('RPUSH', `frontend:${host('target')}`, 'site', site.url);
      await redis.cmd('HSET', `options:${host('moved')}`, 'redirectHttps', 'true');
      assert.equal((await proxy.get(host('moved'))).status, 308);
      await redis.cmd('RENAME', `options:${host('moved')}`, `options:${host('target')}`);
      assert.equal(await proxy.who(host('moved')), 'site', 'renamed away');
      assert.equal((await proxy.get(host('target'))).status, 308, 'renamed onto the other frontend');
      await redis.cmd('PEXPIRE', `options:${host('target')}`, '300');
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await proxy.who(host('target')), 'site', 'expired at its deadline');
    });
  });
}

describe('options:<frontend>: the snapshot, the options that change serving, quarantine and /status', () => {
  let redis: RedisServer;
  let sy: Switchyard;
  let adminPort: number;
  let site: Backend;
  let slow: Backend;

  const get = (host: string, path = '/') => request({ port: sy.port, address: sy.address, host, path });

  before(async () => {
    redis = await startRedis();
    site = await startHttpBackend({ name: 'site' });
    slow = await startHttpBackend({ name: 'slow', delayMs: 1500 });
    // Read by the first snapshot: a host's options and a path frontend's.
    await redis.cmd('RPUSH', 'frontend:snap.test', 'site', site.url);
    await redis.cmd('HSET', 'options:snap.test', 'redirectHttps', 'true');
    await redis.cmd('RPUSH', 'frontend:snap.test/api', 'api', site.url);
    await redis.cmd('HSET', 'options:snap.test/api', 'redirectHttps', 'false', 'stripPrefix', 'true', 'id', '"snap-api"');
    await redis.cmd('HSET', 'options:bad-at-start.test', 'hsts', '"a year"');
    await redis.cmd('RPUSH', 'frontend:bad-at-start.test', 'site', site.url);
    adminPort = await freePort();
    const config = { ...hipacheConfig({ redisUrl: redis.url, dir: tempDir('redis-options') }), admin: { port: adminPort } };
    sy = await startSwitchyard(config);
    await waitFor(async () => (await request({ port: adminPort, host: '127.0.0.1', path: '/status' })).status === 200, { message: 'the admin API answering' });
  });

  test('options present at start-up are served from the snapshot', async () => {
    assert.equal((await get('snap.test', '/x')).status, 308);
    const res = await request({ port: sy.port, address: sy.address, host: 'snap.test', path: '/api/v1', headers: { 'x-debug': '1' } });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text).url, '/v1', 'stripPrefix from the snapshot');
    assert.equal(res.headers['x-debug-vhost'], 'snap-api');
  });

  test('tcpTimeout: the frontend\'s own, shorter than the server\'s, gives a 504', async () => {
    await redis.cmd('RPUSH', 'frontend:slow.test', 'slow', slow.url);
    assert.equal((await get('slow.test')).status, 200, 'the server\'s tcpTimeout (2 s) waits for it');
    await redis.cmd('HSET', 'options:slow.test', 'tcpTimeout', '0.5');
    assert.equal((await get('slow.test')).status, 504, 'options:slow.test tcpTimeout 0.5');
  });

  test('retryOnError 0 from the options hash: a request whose backend resets the connection is not retried on another', async () => {
    const resetting = await startRawBackend((socket) => socket.destroy());
    await redis.cmd('RPUSH', 'frontend:retry.test', 'retry', resetting.url, site.url);
    const statuses = async () => {
      const seen = new Set<number>();
      for (let i = 0; i < 24; i++) seen.add((await get('retry.test')).status);
      return [...seen].sort();
    };
    assert.deepEqual(await statuses(), [200], 'the server\'s retryOnError (3): every request is retried on the live backend');
    await redis.cmd('HSET', 'options:retry.test', 'retryOnError', '0');
    assert.deepEqual(await statuses(), [200, 502], 'retryOnError 0: those that went to the resetting backend fail (a reset marks nothing dead)');
  });

  test('a bad value is refused with a log line naming key and field; the last good options stay; /status shows it', async () => {
    await redis.cmd('RPUSH', 'frontend:q.test', 'site', site.url);
    await redis.cmd('HSET', 'options:q.test', 'redirectHttps', 'true');
    assert.equal((await get('q.test')).status, 308);
    for (const [field, value, reason] of [
      ['hsts', '{"maxAge":', /not JSON/],
      ['hsts', '-1', /must be >= 0/],
      ['retryOnError', '1.5', /must be integer/],
      ['backends', '["http://10.0.0.1"]', /not an option of a host/],
      ['stripPrefix', 'true', /not an option of a host/],
    ] as const) {
      await redis.cmd('HSET', 'options:q.test', field, value);
      assert.equal((await get('q.test')).status, 308, `${field}=${value}: the last good options stay`);
      await waitForLog(sy, new RegExp(`options quarantined: the last good options stay key=options:q\\.test field=${field} reason=.*${reason.source}.*serving=previous`));
      const quarantined = await quarantinedOf(adminPort);
      const entry = quarantined.find((q) => q.key === 'options:q.test');
      assert.ok(entry, `${field}: listed in /status`);
      assert.equal(entry.serving, 'previous');
      assert.match(entry.reason, new RegExp(`field ${field}: .*${reason.source}`));
      await redis.cmd('HDEL', 'options:q.test', field);
    }
    assert.equal((await get('q.test')).status, 308, 'the good hash again (a request: read-your-writes, which /status does not wait for)');
    assert.equal((await quarantinedOf(adminPort)).find((q) => q.key === 'options:q.test'), undefined, 'a good hash again: out of quarantine');
    await redis.cmd('HSET', 'options:q.test', 'redirectHttps', 'false');
    assert.equal(await nameOf(get('q.test')), 'site', 'and its new value served');
  });

  test('a bad hash at start-up: the frontend is served without options, shown as serving none', async () => {
    assert.equal(await nameOf(get('bad-at-start.test')), 'site');
    const entry = (await quarantinedOf(adminPort)).find((q) => q.key === 'options:bad-at-start.test');
    assert.equal(entry?.serving, 'none');
    await redis.cmd('SET', 'options:string.test', 'x');
    await waitFor(async () => (await quarantinedOf(adminPort)).some((q) => q.key === 'options:string.test' && /not a hash/.test(q.reason)), {
      message: 'an options key that is not a hash is quarantined',
    });
  });

  test('FLUSHALL: the options are gone with the frontends', async () => {
    await redis.cmd('RPUSH', 'frontend:flush.test', 'site', site.url);
    await redis.cmd('HSET', 'options:flush.test', 'redirectHttps', 'true');
    assert.equal((await get('flush.test')).status, 308);
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:flush.test', 'site', site.url);
    assert.equal(await nameOf(get('flush.test')), 'site', 'served without the flushed options');
  });
});

describe('options:<frontend> over HTTPS: a Redis frontend answers as the vhosts-file host with the same options', () => {
  let redis: RedisServer;
  let sy: Switchyard;
  let httpsPort: number;

  before(async () => {
    redis = await startRedis();
    const app = await startHttpBackend({ name: 'app', headers: { 'Strict-Transport-Security': 'max-age=5' } });
    const dir = tempDir('redis-options-https');
    const vhosts = join(dir, 'vhosts.yaml');
    writeFileSync(vhosts, `vhosts:\n  file.test:\n    redirectHttps: true\n    hsts: 600\n    backends: [${app.url}]\n`);
    await redis.cmd('RPUSH', 'frontend:redis.test', 'redis.test', app.url);
    await redis.cmd('HSET', 'options:redis.test', 'redirectHttps', 'true', 'hsts', '600');
    const tls = selfSignedCert();
    httpsPort = await freePort();
    sy = await startSwitchyard({
      server: { workers: 1, tcpTimeout: 2, retryOnError: 0, staticDir: null },
      http: { bind: ['127.0.0.1'] },
      https: { port: httpsPort, bind: ['127.0.0.1'], key: tls.key, cert: tls.cert },
      driver: [redis.url],
      file: { path: vhosts },
    });
    await waitFor(async () => (await request({ port: sy.port, address: sy.address, host: 'file.test' })).status === 308, { message: 'the vhosts file served' });
  });

  const sts = (res: { rawHeaders: string[] }) => res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'strict-transport-security');

  test('the same redirect over plain HTTP and the same Strict-Transport-Security over HTTPS', async () => {
    for (const host of ['file.test', 'redis.test']) {
      const plain = await request({ port: sy.port, address: sy.address, host, path: '/a?b=1' });
      assert.equal(plain.status, 308, host);
      assert.equal(plain.headers.location, `https://${host}:${httpsPort}/a?b=1`, host);
      const secure = await httpsRequest(httpsPort, host);
      assert.equal(secure.status, 200, host);
      assert.deepEqual(sts(secure), ['max-age=600'], `${host}: the vhost's hsts replaces the backend's`);
    }
  });

  test('HSET hsts: the very next HTTPS request carries it; HDEL: the backend\'s own again', async () => {
    for (let i = 1; i <= 5; i++) {
      await redis.cmd('HSET', 'options:redis.test', 'hsts', String(i * 100));
      assert.deepEqual(sts(await httpsRequest(httpsPort, 'redis.test')), [`max-age=${i * 100}`], `trial ${i}`);
    }
    await redis.cmd('HDEL', 'options:redis.test', 'hsts');
    assert.deepEqual(sts(await httpsRequest(httpsPort, 'redis.test')), ['max-age=5'], 'no hsts option: the backend\'s header relayed');
  });
});

describe('options:<frontend> under a key prefix', () => {
  test('the prefixed hashes are read by the snapshot and followed; unprefixed ones are not this proxy\'s', async () => {
    const redis = await startRedis();
    const site = await startHttpBackend({ name: 'site' });
    await redis.cmd('RPUSH', 'sy:frontend:pre.test', 'site', site.url);
    await redis.cmd('HSET', 'sy:options:pre.test', 'redirectHttps', 'true');
    await redis.cmd('RPUSH', 'sy:frontend:later.test', 'site', site.url);
    const proxy = await startProxy({ driver: `${redis.url}#sy:` });
    assert.equal((await proxy.get('pre.test')).status, 308, 'from the snapshot');
    await redis.cmd('HSET', 'options:later.test', 'redirectHttps', 'true');
    assert.equal(await proxy.who('later.test'), 'site', 'another prefix\'s hash');
    await redis.cmd('HSET', 'sy:options:later.test', 'redirectHttps', 'true');
    assert.equal((await proxy.get('later.test')).status, 308, 'the prefixed hash, at once');
    await redis.cmd('HSET', 'sy:options:later.test', 'hsts', 'never');
    await waitForLog(proxy.sy, /options quarantined: the last good options stay key=sy:options:later\.test field=hsts/);
  });
});

async function nameOf(res: Promise<{ headers: Record<string, unknown>; status: number }>): Promise<string> {
  const { headers, status } = await res;
  return typeof headers['x-backend-name'] === 'string' ? headers['x-backend-name'] : `<${status}>`;
}

async function quarantinedOf(adminPort: number): Promise<{ key: string; reason: string; serving: string }[]> {
  const res = await request({ port: adminPort, host: '127.0.0.1', path: '/status' });
  const sources = (JSON.parse(res.text) as { sources: Record<string, any>[] }).sources;
  return sources.find((s) => s.name === 'redis')?.quarantined ?? [];
}
