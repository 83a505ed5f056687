// The read-only admin API (config `admin`), through the real proxy: what
// /status says about each source (a file with one bad host included), how
// /route explains a host, /events?since=N as a change feed, the bearer token,
// and which source serves a host both define, under each precedence.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { shown, switchyard } from '../helpers/cli.js';
import { fastFrontOn, frontMeter } from '../helpers/front.js';
import { json, request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

interface AdminAnswer<T = any> {
  status: number;
  body: T;
}

async function adminGet<T = any>(port: number, path: string, token?: string): Promise<AdminAnswer<T>> {
  const res = await request({ port, host: '127.0.0.1', path, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: JSON.parse(res.text) as T };
}

interface Instance {
  proxy: Switchyard;
  adminPort: number;
  vhosts: string;
}

/** A proxy with Redis, a vhosts file and the admin API. */
async function startInstance(redis: RedisServer, vhostsText: string, extra: Record<string, unknown> = {}): Promise<Instance> {
  const vhosts = join(tempDir('admin'), 'vhosts.yaml');
  writeFileSync(vhosts, vhostsText);
  const adminPort = await freePort();
  const proxy = await startSwitchyard({
    server: { workers: 1 },
    http: { bind: ['127.0.0.1'] },
    driver: [redis.url],
    file: { path: vhosts },
    ...extra,
    admin: { port: adminPort, ...(extra['admin'] as object | undefined) },
  });
  // The admin API starts right after the proxy's listeners: wait for it too.
  const token = (extra['admin'] as { token?: string } | undefined)?.token;
  await waitFor(async () => (await adminGet(adminPort, '/status', token)).status === 200, { message: 'the admin API answering' });
  return { proxy, adminPort, vhosts };
}

describe('admin API', () => {
  let redis: RedisServer;
  let alpha: Backend;
  let beta: Backend;
  let main: Instance;

  before(async () => {
    redis = await startRedis();
    alpha = await startHttpBackend({ name: 'alpha' });
    beta = await startHttpBackend({ name: 'beta' });
    await redis.cmd('RPUSH', 'frontend:redis.test', 'from-redis', alpha.url, beta.url);
    main = await startInstance(
      redis,
      [
        'vhosts:',
        `  good.test: { id: good, backends: [${alpha.url}] }`,
        `  "*.wild.test": { id: wild, tcpTimeout: 3, backends: [${beta.url}] }`,
        '  bad.test:',
        '    backends: [ftp://10.0.0.1:21]',
        '',
      ].join('\n'),
    );
  });

  test('/status shows each source with state, mode and version, and the quarantined host with its error', async () => {
    const status = await waitFor(
      async () => {
        const { body } = await adminGet(main.adminPort, '/status');
        return body.sources.every((s: { state: string }) => s.state !== 'starting') ? body : null;
      },
      { message: 'both sources started' },
    );
    assert.equal(status.loaded, true);
    const redisSource = status.sources.find((s: { name: string }) => s.name === 'redis');
    assert.equal(redisSource.state, 'ready');
    assert.match(redisSource.mode, /^(keyspace|tracking|per-request)$/);
    assert.equal(redisSource.lastError, null);
    const file = status.sources.find((s: { name: string }) => s.name === 'file');
    assert.equal(file.mode, 'watch');
    assert.equal(file.state, 'degraded', 'one host rejected: the source is degraded, not down');
    assert.match(file.version, /^[0-9a-f]{16}$/);
    assert.match(file.contentHash, /^[0-9a-f]{12}$/);
    assert.match(redisSource.version, /^[0-9a-f]{16}$/);
    assert.equal(file.lastError.code, 'FILE_QUARANTINE');
    assert.equal(file.quarantined.length, 1);
    assert.equal(file.quarantined[0].key, 'bad.test');
    assert.equal(file.quarantined[0].serving, 'none');
    assert.equal(file.quarantined[0].reason, `${main.vhosts}:5:16: /vhosts/bad.test/backends/0: must be an http:// or https:// URL`);
  });

  test('/status counts the requests the fast front end served and the connections it handed to node:http', async () => {
    const served = await frontMeter(main.adminPort);
    assert.equal((await request({ port: main.proxy.port, host: 'good.test' })).status, 200); // simple: the fast front end's
    const chunked = { 'transfer-encoding': 'chunked' };
    assert.equal((await request({ port: main.proxy.port, host: 'good.test', method: 'POST', headers: chunked, body: 'x' })).status, 200); // a chunked body: node:http's
    assert.deepEqual(await served(), fastFrontOn ? { fast: true, fastRequests: 1, handoffs: 1 } : { fast: false, fastRequests: 0, handoffs: 0 });
  });

  test('/route explains a host: rule, source, id, options and backends; an unknown host is 404 (the proxy answers 400)', async () => {
    const wild = await adminGet(main.adminPort, '/route?host=A.B.Wild.test:8080');
    assert.equal(wild.status, 200);
    assert.equal(wild.body.host, 'a.b.wild.test');
    assert.deepEqual(wild.body.route, {
      key: '*.wild.test',
      id: 'wild',
      rule: 'wildcard',
      source: 'file',
      options: { tcpTimeout: 3 },
      backends: [{ index: 0, url: beta.url, valid: true, dead: false }],
    });
    const fromRedis = await adminGet(main.adminPort, '/route?host=redis.test');
    assert.equal(fromRedis.body.route.source, 'redis');
    assert.equal(fromRedis.body.route.rule, 'exact');
    assert.equal(fromRedis.body.route.backends.length, 2);
    const unknown = await adminGet(main.adminPort, '/route?host=bad.test');
    assert.equal(unknown.status, 404, 'a rejected host is not served');
    assert.equal(unknown.body.answer, 400);
    const invalid = await adminGet(main.adminPort, '/route?host=');
    assert.equal(invalid.status, 400);
  });

  test('/events?since=N returns only the events after N, each with its source', async () => {
    const all = await adminGet(main.adminPort, '/events');
    const seqs: number[] = all.body.events.map((e: { seq: number }) => e.seq);
    assert.ok(seqs.length >= 2, 'the first snapshots are in the history');
    assert.ok(all.body.events.every((e: { source?: string }) => typeof e.source === 'string'));
    const since = Math.max(...seqs);
    await redis.cmd('RPUSH', 'frontend:late.test', 'late', alpha.url);
    const newer = await waitFor(
      async () => {
        const { body } = await adminGet(main.adminPort, `/events?since=${since}`);
        return body.events.some((e: { type: string; frontend?: { key: string } }) => e.type === 'frontend-set' && e.frontend?.key === 'late.test') ? body : null;
      },
      { message: 'the new frontend in the event history' },
    );
    assert.ok(newer.events.length >= 1);
    for (const event of newer.events) {
      assert.ok(event.seq > since, `event ${event.seq} is not after ${since}`);
      assert.equal(event.source, 'redis');
      assert.match(event.at, /^\d{4}-\d\d-\d\dT/);
    }
    assert.ok(newer.version >= newer.events[newer.events.length - 1].seq);
  });

  test('a token, when configured, is required on every endpoint (401 without it); the CLI passes it with --token', async () => {
    const token = 'a-long-enough-admin-token';
    const guarded = await startInstance(redis, `vhosts:\n  t.test: { backends: [${alpha.url}] }\n`, { admin: { token } });
    for (const path of ['/status', '/route?host=t.test', '/frontends', '/events']) {
      assert.equal((await adminGet(guarded.adminPort, path)).status, 401, `${path} without a token`);
      assert.equal((await adminGet(guarded.adminPort, path, 'wrong-token-wrong-token')).status, 401, `${path} with a wrong token`);
      assert.equal((await adminGet(guarded.adminPort, path, token)).status, 200, `${path} with the token`);
    }
    const admin = `http://127.0.0.1:${guarded.adminPort}`;
    const refused = await switchyard(['explain', 't.test', '--admin', admin]);
    assert.equal(refused.status, 2, shown(refused));
    assert.match(refused.stderr, /answered 401: it requires a token/);
    const allowed = await switchyard(['explain', 't.test', '--admin', admin, '--token', token]);
    assert.equal(allowed.status, 0, shown(allowed));
    const fromConfig = await switchyard(['explain', 't.test', '--config', guarded.proxy.configPath]);
    assert.equal(fromConfig.status, 0, `the config's token is used: ${shown(fromConfig)}`);
  });

  test('without a token, only requests addressed to an IP literal or localhost are answered (a DNS-rebinding page names its own domain)', async () => {
    for (const host of [`127.0.0.1:${main.adminPort}`, `localhost:${main.adminPort}`, 'localhost', `[::1]:${main.adminPort}`]) {
      const res = await request({ port: main.adminPort, host, path: '/status' });
      assert.equal(res.status, 200, `Host: ${host}`);
    }
    for (const host of [`rebind.attacker.example:${main.adminPort}`, 'attacker.example', '']) {
      const res = await request({ port: main.adminPort, host, path: '/status' });
      assert.equal(res.status, 421, `Host: ${host}`);
      assert.doesNotMatch(res.text, /"sources"/, 'nothing of the status');
    }
  });

  for (const precedence of ['redis', 'file'] as const) {
    test(`a host in both the file and Redis is served from ${precedence} under precedence "${precedence}"`, async () => {
      await redis.cmd('DEL', 'frontend:both.test');
      await redis.cmd('RPUSH', 'frontend:both.test', 'from-redis', alpha.url);
      const instance = await startInstance(redis, `vhosts:\n  both.test: { id: from-file, backends: [${beta.url}] }\n`, { precedence });
      const [winner, id] = precedence === 'redis' ? ['alpha', 'from-redis'] : ['beta', 'from-file'];
      const route = await adminGet(instance.adminPort, '/route?host=both.test');
      assert.equal(route.body.route.source, precedence);
      assert.equal(route.body.route.id, id);
      for (let i = 0; i < 3; i++) {
        const res = await request({ port: instance.proxy.port, host: 'both.test' });
        assert.equal(res.status, 200);
        assert.equal(json<{ name: string }>(res).name, winner);
      }
      // Both definitions are listed, the winner's source first.
      const { body } = await adminGet(instance.adminPort, '/frontends');
      const sources = body.frontends.filter((f: { key: string }) => f.key === 'both.test').map((f: { source: string }) => f.source);
      assert.deepEqual(sources, precedence === 'redis' ? ['redis', 'file'] : ['file', 'redis']);
    });
  }
});
