// SPEC §7, issue 13: TLS session tickets resume across the workers of an
// instance and, with Redis, across the instances on it; the ticket key is
// replaced every https.ticketKeyRotation, everywhere at once (a ticket of
// the old key gets a full handshake, a ticket of the new one resumes on
// every worker of every instance). Real handshakes with CLI-started proxies,
// each with the `sni.test` certificate chosen by SNI (a secure context of
// its own), and a real redis-server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { before, describe, test, type TestContext } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { RedisTicketKeyStore } from '../../app/tickets/redis-store.js';
import { startHttpBackend } from '../helpers/backends.js';
import { makeCa, makeLeaf, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { hipacheConfig } from '../helpers/config.js';
import { request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { delay, waitFor } from '../helpers/wait.js';

interface Instance {
  proxy: Switchyard;
  httpsPort: number;
  /** Requests served so far, by worker (admin /status). */
  served(): Promise<Map<string, number>>;
}

interface Connection {
  reused: boolean;
  /** The newest ticket the connection got (TLS 1.3 sends them after the handshake); undefined: none. */
  session: Buffer | undefined;
}

interface StoredKey {
  key: string;
  createdAt: number;
}

let ca: TestCa;
let defaultLeaf: TestCertificate;
let sniLeaf: TestCertificate;
let backendUrl: string;

before(async () => {
  ca = makeCa();
  defaultLeaf = makeLeaf(ca, { names: ['default.test'] });
  sniLeaf = makeLeaf(ca, { names: ['sni.test'] });
  backendUrl = (await startHttpBackend({ name: 'tickets-backend' })).url;
});

/** One connection for `servername` carrying one request; resolves once the proxy closed it. */
async function connect(port: number, session?: Buffer, servername = 'sni.test'): Promise<Connection> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.cert, ...(session === undefined ? {} : { session }) });
  socket.setTimeout(5000, () => socket.destroy(new Error('connection timed out')));
  let ticket: Buffer | undefined;
  socket.on('session', (s: Buffer) => (ticket = s));
  const closed = once(socket, 'close');
  await once(socket, 'secureConnect');
  const reused = socket.isSessionReused();
  // A resumed handshake sends no certificate: a full one shows the name's own was chosen.
  if (!reused) assert.ok(socket.getPeerX509Certificate()?.checkHost(servername), `the certificate of ${servername} was served`);
  socket.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
  socket.resume();
  await closed;
  return { reused, session: ticket };
}

/** A new session (a full handshake) and its ticket. */
async function newSession(port: number, servername?: string): Promise<Buffer> {
  const first = await connect(port, undefined, servername);
  assert.equal(first.reused, false);
  assert.ok(first.session !== undefined, 'the proxy sent a ticket');
  return first.session;
}

/** `rounds` connections with `session`, to each port in turn; how many resumed it. */
async function resumptions(ports: number[], session: Buffer, rounds: number, servername?: string): Promise<number> {
  let resumed = 0;
  for (let i = 0; i < rounds; i++) if ((await connect(ports[i % ports.length]!, session, servername)).reused) resumed++;
  return resumed;
}

/**
 * `count` connections with `session` to `port` at once: while one worker is
 * busy with a handshake the next connection goes to another (one after the
 * other, a single worker may well take them all). How many resumed it.
 */
async function resumedAtOnce(port: number, session: Buffer, count: number): Promise<number> {
  const connections = await Promise.all(Array.from({ length: count }, () => connect(port, session)));
  return connections.filter((c) => c.reused).length;
}

async function statusOf(adminPort: number): Promise<Map<string, number>> {
  const res = await request({ port: adminPort, host: '127.0.0.1', path: '/status', timeoutMs: 10_000 });
  assert.equal(res.status, 200, res.text);
  const { workers } = JSON.parse(res.text) as { workers: { worker: string; requests: number }[] };
  return new Map(workers.map((w) => [w.worker, w.requests]));
}

/** The workers that served more requests in `after` than in `before`. */
function busy(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after].filter(([worker, requests]) => requests > (before.get(worker) ?? 0)).map(([worker]) => worker);
}

/** A proxy whose routes and `tls:sni.test` certificate are in `redis`, with an HTTPS listener. */
async function startRedisInstance(t: TestContext, redis: RedisServer, opts: { workers: number; rotation?: number }): Promise<Instance> {
  const dir = tempDir('tickets', t);
  writeFileSync(join(dir, 'chain.pem'), defaultLeaf.chain);
  writeFileSync(join(dir, 'key.pem'), defaultLeaf.key);
  const [httpsPort, adminPort] = [await freePort(), await freePort()];
  const config = {
    ...hipacheConfig({ redisUrl: redis.url, dir, server: { workers: opts.workers } }),
    https: {
      port: httpsPort,
      bind: ['127.0.0.1'],
      cert: join(dir, 'chain.pem'),
      key: join(dir, 'key.pem'),
      ...(opts.rotation === undefined ? {} : { ticketKeyRotation: opts.rotation }),
    },
    admin: { port: adminPort },
  };
  const proxy = await startSwitchyard(config, { scope: t });
  await waitFor(async () => (await statusOf(adminPort)).size === opts.workers, { timeoutMs: 15_000, message: 'every worker answering the admin API' });
  return { proxy, httpsPort, served: () => statusOf(adminPort) };
}

/** A fresh redis-server holding the route and the certificate of sni.test. Lives until the end of the file (after the proxies). */
async function startSharedRedis(): Promise<RedisServer> {
  const redis = await startRedis();
  await redis.cmd('RPUSH', 'frontend:sni.test', 'sni', backendUrl);
  await redis.cmd('SET', 'tls:sni.test', sniLeaf.pem);
  return redis;
}

async function storedKey(redis: RedisServer): Promise<StoredKey> {
  const text = await redis.cmd('GET', 'ticket-key');
  const stored = JSON.parse(text) as StoredKey;
  assert.equal(Buffer.from(stored.key, 'base64').length, 48, 'a 48-byte key, base64');
  assert.equal(typeof stored.createdAt, 'number');
  return stored;
}

/** Waits until `session` (of a replaced key) resumes nowhere: every instance's workers took the new key. */
async function waitUntilRefused(ports: number[], session: Buffer, timeoutMs: number): Promise<void> {
  await waitFor(async () => (await resumptions(ports, session, 2 * ports.length)) === 0, { timeoutMs, intervalMs: 100, message: 'the old ticket refused everywhere' });
}

/**
 * Runs `fn` while Redis holds one key and every instance has taken it (each
 * looks every 0.4 s with a 4 s rotation). A run that spans a rotation proves
 * nothing either way: it is made again.
 */
async function whileOneKey<T>(redis: RedisServer, fn: () => Promise<T>): Promise<{ result: T; key: StoredKey }> {
  for (let attempt = 1; ; attempt++) {
    const key = await storedKey(redis);
    await delay(Math.max(0, key.createdAt + 1000 - Date.now()));
    const result = await fn();
    if ((await storedKey(redis)).key === key.key || attempt === 5) return { result, key };
  }
}

describe('TLS session tickets with Redis', () => {
  test('a session from one instance resumes on another instance on the same Redis; the key is in Redis, never in a log or the admin API', async (t) => {
    const redis = await startSharedRedis();
    const a = await startRedisInstance(t, redis, { workers: 1 });
    const b = await startRedisInstance(t, redis, { workers: 1 });
    const session = await newSession(a.httpsPort);
    assert.equal(await resumptions([b.httpsPort, a.httpsPort], session, 6), 6, 'every connection to either instance resumed');
    const { key } = await storedKey(redis);
    for (const proxy of [a.proxy, b.proxy]) assert.ok(!proxy.logs().includes(key), 'the key is not logged');
    const status = await request({ port: (a.proxy.config.admin as { port: number }).port, host: '127.0.0.1', path: '/status' });
    assert.ok(!status.text.includes(key), 'the key is not in the admin status');
  });

  test('with https.ticketKeyRotation 4 s: the Redis key is replaced, an old ticket resumes nowhere, a new one on both workers of both instances', async (t) => {
    const redis = await startSharedRedis();
    const a = await startRedisInstance(t, redis, { workers: 2, rotation: 4 });
    const b = await startRedisInstance(t, redis, { workers: 2, rotation: 4 });
    const ports = [a.httpsPort, b.httpsPort];
    const before = await whileOneKey(redis, async () => {
      const old = await newSession(a.httpsPort);
      return { old, resumed: await resumptions([b.httpsPort], old, 2) };
    });
    assert.equal(before.result.resumed, 2, 'shared before the rotation');

    const replaced = await waitFor(async () => {
      const now = await storedKey(redis);
      return now.key !== before.key.key ? now : null;
    }, { timeoutMs: 10_000, intervalMs: 100, message: 'the key in Redis replaced' });
    assert.ok(replaced.createdAt > before.key.createdAt);
    await waitUntilRefused(ports, before.result.old, 10_000);

    const after = await whileOneKey(redis, async () => {
      const served = [await a.served(), await b.served()];
      const fresh = await newSession(a.httpsPort);
      // Which worker takes a connection is the kernel's choice: rounds of 8 go on until both workers of each took some.
      let resumed = 0;
      let made = 0;
      let busyA: string[] = [];
      let busyB: string[] = [];
      for (let round = 0; round < 6 && (busyA.length < 2 || busyB.length < 2); round++) {
        resumed += (await Promise.all([resumedAtOnce(b.httpsPort, fresh, 8), resumedAtOnce(a.httpsPort, fresh, 8)])).reduce((x, y) => x + y);
        made += 16;
        busyA = busy(served[0]!, await a.served());
        busyB = busy(served[1]!, await b.served());
      }
      return { resumed, made, busyA, busyB };
    });
    assert.equal(after.result.resumed, after.result.made, 'a ticket of the new key resumed on every connection, to either instance');
    assert.equal(after.result.busyA.length, 2, 'both workers of instance A took connections');
    assert.equal(after.result.busyB.length, 2, 'both workers of instance B took connections');
  });

  test('an instance whose Redis is down starts with a key of its own, logs it once, and shares the key once Redis is back', async (t) => {
    const redis = await startSharedRedis();
    await redis.stop();
    const a = await startRedisInstance(t, redis, { workers: 1, rotation: 10 });
    const unreachable = /TLS ticket key: Redis unreachable/g;
    await delay(2500); // a look every second: two more failed looks, no more lines
    assert.equal(a.proxy.logs().match(unreachable)?.length, 1, a.proxy.logs());
    // Without Redis no tls:sni.test either: the default certificate, through these handshakes.
    const own = await newSession(a.httpsPort, 'default.test');
    assert.equal(await resumptions([a.httpsPort], own, 2, 'default.test'), 2, 'its own key serves meanwhile');
    await redis.restart();
    await waitFor(() => a.proxy.logs().includes('Redis answers again'), { timeoutMs: 10_000, message: 'the ticket key read from Redis again' });
    const b = await startRedisInstance(t, redis, { workers: 1, rotation: 10 });
    const shared = await newSession(b.httpsPort, 'default.test');
    assert.equal(await resumptions([a.httpsPort], shared, 2, 'default.test'), 2, 'both instances hold the key Redis holds');
  });
});

/** A proxy with two workers serving a vhosts file (sni.test with its own certificate), with `https` settings; no Redis. */
async function startFileTlsInstance(https: Record<string, unknown>, server: Record<string, unknown> = {}): Promise<{ instance: FileInstance; httpsPort: number }> {
  const dir = tempDir('tickets-file');
  for (const [name, text] of [['chain.pem', defaultLeaf.chain], ['key.pem', defaultLeaf.key], ['sni-chain.pem', sniLeaf.chain], ['sni-key.pem', sniLeaf.key]] as const) writeFileSync(join(dir, name), text);
  const httpsPort = await freePort();
  const vhosts = ['vhosts:', '  sni.test:', `    backends: ["${backendUrl}"]`, `    tls: { cert: ${join(dir, 'sni-chain.pem')}, key: ${join(dir, 'sni-key.pem')} }`].join('\n');
  const instance = await startFileInstance(vhosts + '\n', {
    workers: 2,
    server,
    extra: { https: { port: httpsPort, bind: ['127.0.0.1'], cert: join(dir, 'chain.pem'), key: join(dir, 'key.pem'), ...https } },
  });
  return { instance, httpsPort };
}

describe('TLS session tickets without Redis', () => {
  test('with https.ticketKeyRotation 3 s, both workers of an instance move to the new key together: an old ticket resumes on neither, a new one on both', async () => {
    const { instance, httpsPort } = await startFileTlsInstance({ ticketKeyRotation: 3 });
    const served = async () => new Map(((await instance.status()).workers as { worker: string; requests: number }[]).map((w) => [w.worker, w.requests]));
    for (let attempt = 1; ; attempt++) {
      const old = await newSession(httpsPort);
      await waitUntilRefused([httpsPort], old, 10_000);
      // Just rotated: the next rotation is about 3 s away, far more than this takes.
      const before = await served();
      const fresh = await newSession(httpsPort);
      const resumed = await resumedAtOnce(httpsPort, fresh, 16);
      const workers = busy(before, await served());
      // Unless a slow run met the next rotation (the new ticket then resumes nowhere): that run proves nothing, and is made again.
      if (resumed < 16 && attempt < 5 && (await resumptions([httpsPort], fresh, 4)) === 0) continue;
      assert.equal(resumed, 16, 'a ticket of the new key resumed on every connection');
      assert.equal(workers.length, 2, 'both workers took connections (otherwise this proves nothing about sharing)');
      break;
    }
  });

  test('a reload keeps the key: a session from before SIGHUP resumes on every worker of the new generation', async () => {
    const { instance, httpsPort } = await startFileTlsInstance({}, { reloadTimeout: 3 });
    const before = await newSession(httpsPort);
    instance.proxy.signal('SIGHUP');
    await waitFor(async () => {
      const status = await instance.status();
      return status.generation === 2 && status.probation === null && status.workers.length === 2;
    }, { timeoutMs: 20_000, message: 'the new generation serving alone' });
    const served = async () => new Map(((await instance.status()).workers as { worker: string; requests: number }[]).map((w) => [w.worker, w.requests]));
    const counted = await served();
    assert.equal(await resumedAtOnce(httpsPort, before, 16), 16, 'every connection to the new workers resumed');
    assert.equal(busy(counted, await served()).length, 2, 'both new workers took connections');
  });
});

describe('the shared key in Redis (app/tickets/redis-store.ts)', () => {
  const DAY = 86_400_000;

  async function stores(t: TestContext, redis: RedisServer, count: number, prefix = '', db = 0): Promise<RedisTicketKeyStore[]> {
    const all = Array.from({ length: count }, () => new RedisTicketKeyStore({ host: '127.0.0.1', port: redis.port, db, prefix, display: redis.url }));
    t.after(() => Promise.all(all.map((s) => s.close())));
    return all;
  }

  test('instances that find no key at once all get the same one: one write wins', async (t) => {
    const redis = await startRedis();
    const keys = await Promise.all((await stores(t, redis, 8)).map((s) => s.current(DAY)));
    assert.equal(new Set(keys.map((k) => k.key)).size, 1);
    assert.deepEqual(await storedKey(redis), keys[0]);
  });

  test('a key younger than the period is kept; an older one is replaced, by one instance for all', async (t) => {
    const redis = await startRedis();
    const all = await stores(t, redis, 4);
    const held = await all[0]!.current(DAY);
    assert.deepEqual(await all[1]!.current(DAY), held, 'kept');
    await redis.cmd('SET', 'ticket-key', JSON.stringify({ ...held, createdAt: held.createdAt - DAY }));
    const replaced = await Promise.all(all.map((s) => s.current(DAY)));
    assert.notEqual(replaced[0]!.key, held.key);
    assert.equal(new Set(replaced.map((k) => k.key)).size, 1, 'one replacement');
    assert.ok(replaced[0]!.createdAt >= held.createdAt);
  });

  test('a value that is not a key (garbage, a short key) is replaced; the key prefix and database are the driver\'s', async (t) => {
    const redis = await startRedis();
    const [store] = await stores(t, redis, 1, 'edge1:', 3);
    await redis.cmd('SELECT', 3);
    for (const bad of ['not json', JSON.stringify({ key: 'c2hvcnQ=', createdAt: Date.now() }), JSON.stringify({ key: 42 })]) {
      await redis.cmd('SET', 'edge1:ticket-key', bad);
      const key = await store!.current(DAY);
      assert.equal(Buffer.from(key.key, 'base64').length, 48);
      assert.deepEqual(JSON.parse(await redis.cmd('GET', 'edge1:ticket-key')), key);
    }
    await redis.cmd('SELECT', 0);
    assert.equal(await redis.cmd('EXISTS', 'ticket-key'), '0', 'nothing in db 0');
  });
});

