// SPEC §1/§2/§4: malformed Hipache data in Redis is skipped with a log line
// naming the key, never a crash; driver URLs with a password, a db number and
// a #prefix; and the [replica, master] driver pair (reads from the first,
// dead marks to the second).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, type Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { configGet, rawRedisCommand, redisClient, startProxy, waitForLog, type Proxy } from '../helpers/redis-proxy.js';
import { waitFor } from '../helpers/wait.js';

/** Names of the backends that answered `n` requests for `host`. */
async function answering(proxy: Proxy, host: string, n = 40): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await proxy.who(host));
  return [...seen].sort();
}

/** How many times `command` ran on a redis-server (INFO commandstats). */
async function calls(redis: RedisServer, command: string): Promise<number> {
  const info = await redis.cmd('INFO', 'commandstats');
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}

describe('malformed data in Redis', () => {
  let redis: RedisServer;
  let proxy: Proxy;
  let a: Backend;
  let b: Backend;

  before(async () => {
    redis = await startRedis();
    a = await startHttpBackend({ name: 'a' });
    b = await startHttpBackend({ name: 'b' });
    proxy = await startProxy({ driver: redis.url });
  });

  test('a backend that is not a URL is skipped (logged with its key); the valid one gets every request', async () => {
    await redis.cmd('RPUSH', 'frontend:x.test', 'site', 'notaurl', a.url);
    assert.deepEqual(await answering(proxy, 'x.test'), ['a']);
    await waitForLog(proxy.sy, /malformed backend.*key=frontend:x\.test/);
  });

  test('frontend and dead keys of the wrong type are skipped with a log line, at start-up too; other hosts are unaffected', async () => {
    await redis.cmd('RPUSH', 'frontend:ok.test', 'site', a.url);
    await redis.cmd('RPUSH', 'frontend:y.test', 'site', a.url);
    assert.equal(await proxy.who('y.test'), 'a');
    await redis.cmd('SET', 'frontend:y.test', 'oops'); // replaces the list
    assert.equal(await proxy.who('y.test'), '<400>', 'a frontend that is no longer a list is gone');
    assert.equal(await proxy.who('ok.test'), 'a');
    await waitForLog(proxy.sy, /not a list.*key=frontend:y\.test/);
    // Also when the bad keys are there at start-up (read by the first snapshot).
    await redis.cmd('SET', 'frontend:z.test', 'oops');
    await redis.cmd('HSET', 'frontend:h.test', 'f', 'v');
    await redis.cmd('SET', 'dead:ok.test', 'oops');
    const second = await startProxy({ driver: redis.url });
    assert.equal(await second.who('ok.test'), 'a');
    assert.equal(await second.who('z.test'), '<400>');
    assert.equal(await second.who('h.test'), '<400>');
    await waitForLog(second.sy, /not a list.*key=frontend:z\.test/);
    await waitForLog(second.sy, /not a set.*key=dead:ok\.test/);
    for (const p of [proxy, second]) {
      assert.equal(p.sy.hasExited(), false);
      assert.doesNotMatch(p.sy.logs(), /uncaught|worker died/);
    }
  });

  test('dead set members that are not backend indexes are ignored', async () => {
    await redis.cmd('RPUSH', 'frontend:d.test', 'site', a.url, b.url);
    await redis.cmd('SADD', 'dead:d.test', 'foo', '-1', '1.5', '0x1', ' 0');
    assert.deepEqual(await answering(proxy, 'd.test'), ['a', 'b']);
    await waitForLog(proxy.sy, /not a backend index.*key=dead:d\.test/);
    await redis.cmd('SADD', 'dead:d.test', '0');
    assert.deepEqual(await answering(proxy, 'd.test', 15), ['b'], 'a valid member next to them still counts');
  });

  test('driver URL with password, db number and #prefix: keys prefix:frontend:<host> in that db', async (t) => {
    const secured = await startRedis({ scope: t });
    // The harness pings without AUTH, so the password is set once it runs (same effect as --requirepass).
    await secured.cmd('CONFIG', 'SET', 'requirepass', 's3cret');
    assert.match(await rawRedisCommand(secured.port, 'GET', 'x'), /^-NOAUTH/);
    const db3 = await redisClient(`redis://:s3cret@127.0.0.1:${secured.port}/3`, t);
    const db0 = await redisClient(`redis://:s3cret@127.0.0.1:${secured.port}/0`, t);
    const messages: string[] = [];
    const sub = db3.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    t.after(() => sub.destroy());
    await sub.subscribe('dead', (m) => messages.push(m));

    await db3.rPush('prefix:frontend:boot.test', ['site', a.url]);
    await db3.rPush('frontend:decoy.test', ['site', b.url]); // no prefix
    await db0.rPush('prefix:frontend:decoy0.test', ['site', b.url]); // wrong db
    const p = await startProxy({ driver: `redis://:s3cret@127.0.0.1:${secured.port}/3#prefix:`, scope: t });
    assert.equal(await p.who('boot.test'), 'a', 'read by the first snapshot');
    assert.equal(await p.who('decoy.test'), '<400>');
    assert.equal(await p.who('decoy0.test'), '<400>');
    await db3.rPush('prefix:frontend:later.test', ['site', b.url]);
    assert.equal(await p.who('later.test'), 'b', 'changes followed in db 3 under the prefix');

    const refused = `http://127.0.0.1:${await refusingPort()}`;
    await db3.rPush('prefix:frontend:marked.test', ['site', refused, a.url]);
    for (let i = 0; i < 40 && messages.length === 0; i++) assert.equal(await p.who('marked.test'), 'a');
    await waitFor(() => messages.length > 0, { message: 'a PUBLISH dead' });
    assert.deepEqual(messages, [`marked.test;${refused};0;2`], 'the channel is always "dead"');
    assert.deepEqual(await db3.sMembers('prefix:dead:marked.test'), ['0']);
    assert.equal(await db3.exists('dead:marked.test'), 0);
    await db3.sAdd('prefix:dead:boot.test', '0');
    assert.equal(await p.who('boot.test'), '<502>', 'external marks are read under the prefix too');
    assert.doesNotMatch(p.sy.logs(), /s3cret/, 'the password never appears in the log');
  });

  test('[replica, master] driver pair: reads come from the replica, dead marks go to the master', async (t) => {
    const master = await startRedis({ scope: t });
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)], scope: t });
    await waitFor(async () => /master_link_status:up/.test(await replica.cmd('INFO', 'replication')), {
      timeoutMs: 10_000,
      message: 'replication link up',
    });
    const channel = await master.subscribe('dead');
    const replicated = async () => assert.equal(await master.cmd('WAIT', 1, 2000), '1');
    await master.cmd('RPUSH', 'frontend:boot.test', 'site', a.url);
    await replicated();
    const p = await startProxy({ driver: [replica.url, master.url], scope: t });
    assert.equal(await p.who('boot.test'), 'a');
    await master.cmd('RPUSH', 'frontend:later.test', 'site', b.url);
    await replicated();
    assert.equal(await p.who('later.test'), 'b', 'a change replicated before the request is seen');

    assert.ok((await calls(replica, 'lrange')) > 0, 'the replica is read');
    assert.equal(await calls(master, 'lrange'), 0, 'the master is never read');
    assert.match(await configGet(replica, 'notify-keyspace-events'), /K/, 'changes followed on the replica');

    const refused = `http://127.0.0.1:${await refusingPort()}`;
    await master.cmd('RPUSH', 'frontend:marked.test', 'site', refused, a.url);
    await replicated();
    for (let i = 0; i < 40 && channel.messages.length === 0; i++) assert.equal(await p.who('marked.test'), 'a');
    await waitFor(() => channel.messages.length > 0, { message: 'a PUBLISH dead on the master' });
    assert.deepEqual(channel.messages, [`marked.test;${refused};0;2`]);
    assert.deepEqual(await master.cmdList('SMEMBERS', 'dead:marked.test'), ['0']);
    assert.ok(Number(await master.cmd('TTL', 'dead:marked.test')) > 0, 'EXPIRE on the master');
    assert.ok((await calls(master, 'sadd')) > 0);
    assert.doesNotMatch(p.sy.logs(), /READONLY/);
  });
});
