// SPEC §6: every way a Redis key can change reaches the table with the
// read-your-writes guarantee of RPUSH, in every change-following mode. Each
// test asserts that the FIRST request sent after the command returned is
// routed by the new state. FLUSHDB, FLUSHALL and SWAPDB produce no keyspace
// notification (and SWAPDB no tracking invalidation either), nor does a
// replica's full resync: those are the cases a per-key feed cannot see.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RESP_TYPES } from '@redis/client';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { countLog, redisClient, startProxy, type Proxy, type RedisClient } from '../helpers/redis-proxy.js';
import { delay, waitFor } from '../helpers/wait.js';

const NO_CONFIG = ['--rename-command', 'CONFIG', ''];
const DEBUG = ['--enable-debug-command', 'local'];
/** A master answers a replica at once (Redis 7 waits 5 s for more replicas by default). */
const PROMPT_MASTER = ['--repl-diskless-sync-delay', '0'];
/** Logged when the tripwire calls for a resync. */
const REPLACED = 'the redis database was replaced as a whole';

const MODES = [
  { mode: 'keyspace', redisArgs: [] as string[] },
  { mode: 'tracking', redisArgs: NO_CONFIG },
  { mode: 'per-request', redisArgs: NO_CONFIG },
] as const;

let a: Backend;
let b: Backend;
before(async () => {
  a = await startHttpBackend({ name: 'a' });
  b = await startHttpBackend({ name: 'b' });
});

/** The number in `INFO <section>`'s `field:` line. */
async function infoField(redis: RedisServer, section: string, field: string): Promise<number> {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(await redis.cmd('INFO', section));
  return Number(match?.[1] ?? NaN);
}

for (const { mode, redisArgs } of MODES) {
  describe(`every write reaches the next request: "${mode}" mode`, () => {
    let redis: RedisServer;
    let db0: RedisClient;
    let db1: RedisClient;
    let proxy: Proxy;

    before(async () => {
      redis = await startRedis({ args: [...redisArgs, ...DEBUG] });
      db0 = await redisClient(redis.url);
      db1 = await redisClient(`${redis.url}/1`);
      proxy = await startProxy({ driver: redis.url, redis: { tracking: mode } });
    });

    const who = (host: string) => proxy.who(`${host}.test`);
    const key = (host: string) => `frontend:${host}.test`;
    const route = (host: string, backend: Backend) => redis.cmd('RPUSH', key(host), 'site', backend.url);
    /** A fresh db 0 and db 1 with `host` routed to `backend` in db 0; the proxy serves it. */
    const fresh = async (host: string, backend: Backend): Promise<void> => {
      await redis.cmd('FLUSHALL');
      await route(host, backend);
      assert.equal(await who(host), backend.name, `${host} served before the write`);
    };

    for (const flush of [['FLUSHDB'], ['FLUSHDB', 'ASYNC'], ['FLUSHALL'], ['FLUSHALL', 'ASYNC']]) {
      test(`${flush.join(' ')}: every route is gone on the next request, and a route written after it is served`, async () => {
        for (let i = 0; i < 5; i++) {
          await route(`flush${i}`, a);
          await route(`other${i}`, b);
          assert.equal(await who(`flush${i}`), 'a', `trial ${i}: before`);
          await redis.cmd(...flush);
          assert.equal(await who(`flush${i}`), '<400>', `trial ${i}: after ${flush.join(' ')}`);
          assert.equal(await who(`other${i}`), '<400>', `trial ${i}: the other route too`);
          await route(`flush${i}`, b);
          assert.equal(await who(`flush${i}`), 'b', `trial ${i}: written after the flush`);
        }
      });
    }

    test('FLUSHDB of another database, and SWAPDB of two others, change nothing and cost no resync', async () => {
      await fresh('kept', a);
      await db1.rPush(key('kept'), ['site', b.url]);
      await delay(100); // the log of the resync after the FLUSHALL above has arrived
      const resyncs = countLog(proxy.sy, REPLACED);
      await db1.flushDb();
      assert.equal(await who('kept'), 'a', 'FLUSHDB of db 1');
      await db1.rPush(key('kept'), ['site', b.url]);
      await redis.cmd('SWAPDB', 1, 2);
      assert.equal(await who('kept'), 'a', 'SWAPDB 1 2');
      await delay(100);
      assert.equal(countLog(proxy.sy, REPLACED), resyncs);
    });

    test('the marker key deleted (as by an eviction): one resync, and a SWAPDB after it is still seen', async () => {
      await fresh('marked', a);
      await db1.rPush(key('marked'), ['site', b.url]);
      await redis.cmd('DEL', 'switchyard:marker');
      assert.equal(await who('marked'), 'a', 'served throughout');
      if (mode !== 'per-request') await waitFor(async () => (await redis.cmd('EXISTS', 'switchyard:marker')) === '1', { message: 'the marker written again' });
      await redis.cmd('SWAPDB', 0, 1);
      assert.equal(await who('marked'), 'b', 'SWAPDB');
    });

    test("SWAPDB with the proxy's database: the next request is routed by the other database's keys, and back", async () => {
      await fresh('swapped', a);
      await route('only0', a);
      await db1.rPush(key('swapped'), ['site', b.url]);
      await db1.rPush(key('only1'), ['site', b.url]);
      for (let i = 0; i < 4; i++) {
        await redis.cmd('SWAPDB', 0, 1);
        assert.equal(await who('swapped'), 'b', `trial ${i}: swapped in`);
        assert.equal(await who('only0'), '<400>', `trial ${i}: a route of the old database`);
        assert.equal(await who('only1'), 'b', `trial ${i}: a route of the new one`);
        await redis.cmd('SWAPDB', 1, 0);
        assert.equal(await who('swapped'), 'a', `trial ${i}: swapped back`);
        assert.equal(await who('only1'), '<400>', `trial ${i}: swapped back, only1 gone`);
      }
    });

    test('MOVE out of the database and back into it', async () => {
      await fresh('moved', a);
      for (let i = 0; i < 3; i++) {
        await redis.cmd('MOVE', key('moved'), 1);
        assert.equal(await who('moved'), '<400>', `trial ${i}: moved out`);
        await db1.move(key('moved'), 0);
        assert.equal(await who('moved'), 'a', `trial ${i}: moved in`);
      }
    });

    test('RENAME onto a frontend key, and away from it', async () => {
      await fresh('renamed', a);
      for (let i = 0; i < 3; i++) {
        await redis.cmd('RPUSH', 'staging', 'site', b.url);
        await redis.cmd('RENAME', 'staging', key('renamed'));
        assert.equal(await who('renamed'), 'b', `trial ${i}: renamed onto`);
        await redis.cmd('RENAME', key('renamed'), 'parked');
        assert.equal(await who('renamed'), '<400>', `trial ${i}: renamed away`);
        await redis.cmd('RENAME', 'parked', key('renamed'));
        assert.equal(await who('renamed'), 'b', `trial ${i}: renamed back`);
        await redis.cmd('LSET', key('renamed'), 1, a.url);
      }
    });

    test('COPY ... REPLACE, in the database and from another one', async () => {
      await fresh('copied', a);
      await redis.cmd('RPUSH', 'template', 'site', b.url);
      await redis.cmd('COPY', 'template', key('copied'), 'REPLACE');
      assert.equal(await who('copied'), 'b', 'COPY REPLACE in db 0');
      await db1.rPush(key('copied'), ['site', a.url]);
      await db1.sendCommand(['COPY', key('copied'), key('copied'), 'DB', '0', 'REPLACE']);
      assert.equal(await who('copied'), 'a', 'COPY from db 1 DB 0 REPLACE');
      await redis.cmd('COPY', 'template', key('copied-new'));
      assert.equal(await who('copied-new'), 'b', 'COPY to a new key');
    });

    test('RESTORE of a new key and RESTORE ... REPLACE', async () => {
      await fresh('restored', a);
      await redis.cmd('RPUSH', 'template', 'site', b.url);
      const dump = await db0.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).dump('template');
      await db0.restore(key('restored-new'), 0, dump);
      assert.equal(await who('restored-new'), 'b', 'RESTORE');
      await db0.restore(key('restored'), 0, dump, { REPLACE: true });
      assert.equal(await who('restored'), 'b', 'RESTORE REPLACE');
    });

    test('DEL and UNLINK', async () => {
      await fresh('deleted', a);
      for (const command of ['DEL', 'UNLINK']) {
        await redis.cmd(command, key('deleted'));
        assert.equal(await who('deleted'), '<400>', command);
        await route('deleted', a);
        assert.equal(await who('deleted'), 'a', `after ${command}, RPUSH`);
      }
    });

    test('EXPIRE 0, PEXPIRE and EXPIREAT in the past delete at once', async () => {
      await fresh('expiring', a);
      for (const command of [['EXPIRE', 0], ['PEXPIRE', -1], ['EXPIREAT', 1], ['PEXPIREAT', 1]] as const) {
        await redis.cmd(command[0], key('expiring'), command[1]);
        assert.equal(await who('expiring'), '<400>', command.join(' '));
        await route('expiring', a);
        assert.equal(await who('expiring'), 'a', `after ${command.join(' ')}, RPUSH`);
      }
    });

    test("a key's expiry (Redis expires it on its own): the next request gets 400", async () => {
      await fresh('ttl', a);
      const expired = await infoField(redis, 'stats', 'expired_keys');
      await redis.cmd('PEXPIRE', key('ttl'), 50);
      // Polled without touching the key (a read would expire it: that is the next test).
      await waitFor(async () => (await infoField(redis, 'stats', 'expired_keys')) > expired, { intervalMs: 5, message: 'the key expired' });
      assert.equal(await who('ttl'), '<400>');
    });

    test('a TTL runs out while Redis has not expired the key yet: the first request after the deadline gets 400', async () => {
      // With active expiry off, Redis deletes an expired key only when a client reads it; with many keys
      // with a TTL, its active expiry may take a minute to get to it. Hipache's read on every request saw it gone at once.
      await fresh('deadline', a);
      await route('persisted', a);
      await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 0);
      try {
        for (const [i, command] of [['PEXPIRE', 400], ['EXPIRE', 1]].entries()) {
          await route(`deadline${i}`, a);
          assert.equal(await who(`deadline${i}`), 'a', `${command[0]}: before`);
          const start = Date.now();
          await redis.cmd(String(command[0]), key(`deadline${i}`), command[1]!);
          await redis.cmd('PEXPIRE', key('persisted'), 100);
          await redis.cmd('PERSIST', key('persisted'));
          const ttl = command[0] === 'EXPIRE' ? 1000 : 400;
          const before = await who(`deadline${i}`);
          if (Date.now() - start < ttl / 2) assert.equal(before, 'a', `${command[0]}: before the deadline`); // (unless this machine is that slow)
          await delay(ttl - (Date.now() - start) + 5);
          assert.equal(await who(`deadline${i}`), '<400>', `${command[0]}: the first request after the deadline`);
          assert.equal(await who('persisted'), 'a', 'PERSIST took the TTL back');
        }
      } finally {
        await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 1);
      }
    });

    test("passive expiry (a client's read finds the key expired): the next request gets 400", async () => {
      await fresh('lazy', a);
      await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 0);
      try {
        await redis.cmd('PEXPIRE', key('lazy'), 20);
        await delay(40);
        assert.equal(await redis.cmd('EXISTS', key('lazy')), '0', 'the read expires the key');
        assert.equal(await who('lazy'), '<400>');
      } finally {
        await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 1);
      }
    });

    test('MULTI/EXEC with FLUSHDB and RPUSH: the next request sees only what the transaction left', async () => {
      await fresh('tx', a);
      await route('tx-gone', a);
      for (let i = 0; i < 3; i++) {
        const backend = i % 2 === 0 ? b : a;
        await db0.multi().flushDb().rPush(key('tx'), ['site', backend.url]).exec();
        assert.equal(await who('tx'), backend.name, `trial ${i}`);
        assert.equal(await who('tx-gone'), '<400>', `trial ${i}: flushed in the transaction`);
      }
    });

    test('EVAL scripts: DEL + RPUSH, and FLUSHDB + RPUSH', async () => {
      await fresh('lua', a);
      await redis.cmd('EVAL', "redis.call('DEL', KEYS[1]); return redis.call('RPUSH', KEYS[1], 'site', ARGV[1])", 1, key('lua'), b.url);
      assert.equal(await who('lua'), 'b', 'DEL + RPUSH');
      await route('lua-gone', a);
      await redis.cmd('EVAL', "redis.call('FLUSHDB'); return redis.call('RPUSH', KEYS[1], 'site', ARGV[1])", 1, key('lua'), a.url);
      assert.equal(await who('lua'), 'a', 'FLUSHDB + RPUSH');
      assert.equal(await who('lua-gone'), '<400>', 'flushed by the script');
    });

    test('options:<host> hashes (SPEC §9): SWAPDB, MOVE, RENAME, COPY, RESTORE, EXPIRE in the past, MULTI/EXEC and EVAL reach the next request', async () => {
      const options = (host: string) => `options:${host}.test`;
      const served = async (host: string) => ((await proxy.get(`${host}.test`)).status === 308 ? 'redirected' : await who(host));
      await fresh('opt', a);
      await db1.rPush(key('opt'), ['site', a.url]);
      await db1.hSet(options('opt'), 'redirectHttps', 'true');
      await redis.cmd('SWAPDB', 0, 1);
      assert.equal(await served('opt'), 'redirected', 'SWAPDB: the other database\'s options');
      await redis.cmd('SWAPDB', 0, 1);
      assert.equal(await served('opt'), 'a', 'SWAPDB back');
      await db1.move(options('opt'), 0);
      assert.equal(await served('opt'), 'redirected', 'MOVE into the database');
      await redis.cmd('MOVE', options('opt'), 1);
      assert.equal(await served('opt'), 'a', 'MOVE out of it');
      await redis.cmd('HSET', 'staging', 'redirectHttps', 'true');
      await redis.cmd('RENAME', 'staging', options('opt'));
      assert.equal(await served('opt'), 'redirected', 'RENAME onto');
      await redis.cmd('RENAME', options('opt'), 'parked');
      assert.equal(await served('opt'), 'a', 'RENAME away');
      await redis.cmd('COPY', 'parked', options('opt'));
      assert.equal(await served('opt'), 'redirected', 'COPY');
      for (const command of [['EXPIRE', 0], ['PEXPIREAT', 1]] as const) {
        await redis.cmd(command[0], options('opt'), command[1]);
        assert.equal(await served('opt'), 'a', command.join(' '));
        await redis.cmd('COPY', 'parked', options('opt'));
        assert.equal(await served('opt'), 'redirected', `after ${command.join(' ')}, COPY`);
      }
      const dump = await db0.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).dump('parked');
      await redis.cmd('DEL', options('opt'));
      await db0.restore(options('opt'), 0, dump);
      assert.equal(await served('opt'), 'redirected', 'RESTORE');
      await db0.multi().del(options('opt')).hSet(options('opt'), 'id', '"tx"').exec();
      assert.equal(await served('opt'), 'a', 'MULTI/EXEC: DEL + HSET of another option');
      await redis.cmd('EVAL', "return redis.call('HSET', KEYS[1], 'redirectHttps', 'true')", 1, options('opt'));
      assert.equal(await served('opt'), 'redirected', 'EVAL HSET');
      await db0.multi().flushDb().rPush(key('opt'), ['site', b.url]).exec();
      assert.equal(await served('opt'), 'b', 'flushed in a transaction: no options left');
    });

    test('an options hash whose TTL runs out while Redis has not expired it yet: the first request after the deadline is served without it', async () => {
      await fresh('opt-deadline', a);
      await redis.cmd('HSET', 'options:opt-deadline.test', 'redirectHttps', 'true');
      assert.equal((await proxy.get('opt-deadline.test')).status, 308, 'before');
      await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 0);
      try {
        const start = Date.now();
        await redis.cmd('PEXPIRE', 'options:opt-deadline.test', 400);
        await delay(400 - (Date.now() - start) + 5);
        assert.equal(await who('opt-deadline'), 'a', 'the first request after the deadline');
      } finally {
        await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 1);
      }
    });

    test('FCALL of a function that rewrites a frontend', async () => {
      await fresh('fn', a);
      const library = [
        '#!lua name=switchyardtest',
        "redis.register_function('reroute', function(keys, args) redis.call('DEL', keys[1]); return redis.call('RPUSH', keys[1], 'site', args[1]) end)",
        "redis.register_function('wipe', function(keys, args) return redis.call('FLUSHDB') end)",
      ].join('\n');
      await redis.cmd('FUNCTION', 'LOAD', 'REPLACE', library);
      await redis.cmd('FCALL', 'reroute', 1, key('fn'), b.url);
      assert.equal(await who('fn'), 'b', 'FCALL reroute');
      await redis.cmd('FCALL', 'wipe', 0);
      assert.equal(await who('fn'), '<400>', 'FCALL wipe (FLUSHDB)');
    });
  });

  describe(`"${mode}" mode, a #prefix driver on database 3`, () => {
    let redis: RedisServer;
    let db3: RedisClient;
    let db4: RedisClient;
    let proxy: Proxy;

    before(async () => {
      redis = await startRedis({ args: [...redisArgs] });
      db3 = await redisClient(`${redis.url}/3`);
      db4 = await redisClient(`${redis.url}/4`);
      proxy = await startProxy({ driver: `${redis.url}/3#pfx:`, redis: { tracking: mode } });
    });

    const who = (host: string) => proxy.who(`${host}.test`);
    const key = (host: string) => `pfx:frontend:${host}.test`;

    test('FLUSHDB, SWAPDB 3 4 and FLUSHALL reach the next request', async () => {
      await db3.rPush(key('p'), ['site', a.url]);
      await db4.rPush(key('p'), ['site', b.url]);
      assert.equal(await who('p'), 'a');
      await redis.cmd('SWAPDB', 3, 4);
      assert.equal(await who('p'), 'b', 'SWAPDB 3 4');
      await db3.flushDb();
      assert.equal(await who('p'), '<400>', 'FLUSHDB of db 3');
      await db3.rPush(key('p'), ['site', b.url]);
      assert.equal(await who('p'), 'b', 'RPUSH after the flush');
      await redis.cmd('SWAPDB', 4, 3);
      assert.equal(await who('p'), 'a', 'SWAPDB 4 3: the first data of db 3 again');
      await db4.flushDb();
      assert.equal(await who('p'), 'a', 'FLUSHDB of db 4 changes nothing');
      await redis.cmd('SWAPDB', 4, 3);
      assert.equal(await who('p'), '<400>', 'SWAPDB with the flushed db 4');
      await redis.cmd('FLUSHALL');
      assert.equal(await who('p'), '<400>', 'FLUSHALL');
    });
  });

  describe(`"${mode}" mode, a TTL set before the proxy started`, () => {
    test('the snapshot reads the deadline: the first request after it gets 400', async (t) => {
      const redis = await startRedis({ args: [...redisArgs, ...DEBUG], scope: t });
      await redis.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', 0);
      await redis.cmd('RPUSH', 'frontend:early.test', 'site', a.url);
      await redis.cmd('EXPIRE', 'frontend:early.test', 4);
      const start = Date.now();
      const proxy = await startProxy({ driver: redis.url, redis: { tracking: mode }, scope: t });
      const before = await proxy.who('early.test');
      if (Date.now() - start < 3000) assert.equal(before, 'a', 'before the deadline'); // (unless the start took that long)
      await delay(4000 - (Date.now() - start) + 5);
      assert.equal(await proxy.who('early.test'), '<400>', 'the first request after the deadline');
    });
  });

  describe(`"${mode}" mode, eviction under maxmemory (allkeys-lru)`, () => {
    test('a frontend evicted by a write: the next request after that write gets 400', async (t) => {
      const redis = await startRedis({ args: [...redisArgs, '--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'], scope: t });
      const proxy = await startProxy({ driver: redis.url, redis: { tracking: mode }, scope: t });
      await redis.cmd('RPUSH', 'frontend:evicted.test', 'site', a.url);
      assert.equal(await proxy.who('evicted.test'), 'a');
      const filler = 'x'.repeat(64 * 1024);
      for (let i = 0; (await redis.cmd('EXISTS', 'frontend:evicted.test')) === '1'; i++) {
        assert.ok(i < 1000, 'the frontend was evicted');
        await redis.cmd('SET', `filler:${i}`, filler);
      }
      assert.equal(await proxy.who('evicted.test'), '<400>');
      await redis.cmd('RPUSH', 'frontend:evicted.test', 'site', b.url);
      assert.equal(await proxy.who('evicted.test'), 'b', 'written again');
    });
  });

  describe(`"${mode}" mode, the [replica, master] driver and the replica's full resync`, () => {
    const linked = async (replica: RedisServer, master: RedisServer): Promise<void> => {
      await waitFor(
        async () => {
          const info = await replica.cmd('INFO', 'replication');
          return info.includes(`master_port:${master.port}`) && /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info);
        },
        { timeoutMs: 15_000, intervalMs: 10, message: `replica synchronised with the master on ${master.port}` },
      );
    };
    /** Waits until the replica holds exactly `expected` (host → backend, null: no key), as any client reading it would see. */
    const holds = async (replica: RedisServer, expected: Record<string, Backend | null>): Promise<void> => {
      await waitFor(
        async () => {
          for (const [host, backend] of Object.entries(expected)) {
            const list = await replica.cmdList('LRANGE', `frontend:${host}`, 0, -1);
            if (backend === null ? list.length !== 0 : list[1] !== backend.url) return false;
          }
          return true;
        },
        { timeoutMs: 15_000, intervalMs: 10, message: 'the replica holds the new data' },
      );
    };

    test('REPLICAOF a master with other data: the first request after the resync is routed by that data', async (t) => {
      const master = await startRedis({ args: PROMPT_MASTER, scope: t });
      const other = await startRedis({ args: PROMPT_MASTER, scope: t });
      const replica = await startRedis({ args: [...redisArgs, '--replicaof', '127.0.0.1', String(master.port)], scope: t });
      await master.cmd('RPUSH', 'frontend:kept.test', 'site', a.url);
      await master.cmd('RPUSH', 'frontend:dropped.test', 'site', a.url);
      await other.cmd('RPUSH', 'frontend:kept.test', 'site', b.url);
      await other.cmd('RPUSH', 'frontend:added.test', 'site', b.url);
      await linked(replica, master);
      // Replication is asynchronous: the writes may reach the replica after the link is up.
      await holds(replica, { 'kept.test': a, 'dropped.test': a });
      const proxy = await startProxy({ driver: [replica.url, master.url], redis: { tracking: mode }, scope: t });
      assert.equal(await proxy.who('kept.test'), 'a');
      assert.equal(await proxy.who('dropped.test'), 'a');

      await replica.cmd('REPLICAOF', '127.0.0.1', other.port);
      await linked(replica, other);
      await holds(replica, { 'kept.test': b, 'added.test': b, 'dropped.test': null });
      assert.equal(await proxy.who('dropped.test'), '<400>', 'a route the new master does not have');
      assert.equal(await proxy.who('kept.test'), 'b', 'a route the new master has otherwise');
      assert.equal(await proxy.who('added.test'), 'b', 'a route only the new master has');
    });

    test('the master restarts empty (a new replication id) and gets other data: the replica resyncs, the next request follows', async (t) => {
      const master = await startRedis({ args: PROMPT_MASTER, scope: t });
      const replica = await startRedis({ args: [...redisArgs, '--replicaof', '127.0.0.1', String(master.port)], scope: t });
      await linked(replica, master);
      const proxy = await startProxy({ driver: [replica.url, master.url], redis: { tracking: mode }, scope: t });
      for (let round = 0; round < 2; round++) {
        const [from, to] = round === 0 ? [a, b] : [b, a];
        await master.cmd('RPUSH', `frontend:old${round}.test`, 'site', from.url);
        await master.cmd('DEL', 'frontend:kept.test');
        await master.cmd('RPUSH', 'frontend:kept.test', 'site', from.url);
        await holds(replica, { [`old${round}.test`]: from, 'kept.test': from });
        assert.equal(await proxy.who(`old${round}.test`), from.name, `round ${round}: before`);
        // The replica's cached replication id is unknown to the restarted master: a full resync, empty or with some of the new data.
        await master.restart();
        await master.cmd('RPUSH', 'frontend:kept.test', 'site', to.url);
        await master.cmd('RPUSH', `frontend:new${round}.test`, 'site', to.url);
        await linked(replica, master);
        await holds(replica, { [`old${round}.test`]: null, 'kept.test': to, [`new${round}.test`]: to });
        assert.equal(await proxy.who(`old${round}.test`), '<400>', `round ${round}: a route the restarted master lost`);
        assert.equal(await proxy.who('kept.test'), to.name, `round ${round}: a route it has otherwise`);
        assert.equal(await proxy.who(`new${round}.test`), to.name, `round ${round}: a route it has now`);
      }
    });
  });
}

describe('two instances sharing one Redis', () => {
  let redis: RedisServer;
  let db1: RedisClient;
  let proxies: Proxy[];

  before(async () => {
    redis = await startRedis();
    db1 = await redisClient(`${redis.url}/1`);
    proxies = [await startProxy({ driver: redis.url }), await startProxy({ driver: redis.url, redis: { tracking: 'tracking' } })];
  });
  after(async () => {
    await redis.cmd('FLUSHALL');
  });

  test('FLUSHALL and SWAPDB reach the next request of each instance', async () => {
    for (let i = 0; i < 3; i++) {
      await redis.cmd('RPUSH', 'frontend:shared.test', 'site', a.url);
      await db1.rPush('frontend:shared.test', ['site', b.url]);
      for (const [n, p] of proxies.entries()) assert.equal(await p.who('shared.test'), 'a', `trial ${i}, instance ${n}: before`);
      await redis.cmd('SWAPDB', 0, 1);
      for (const [n, p] of proxies.entries()) assert.equal(await p.who('shared.test'), 'b', `trial ${i}, instance ${n}: after SWAPDB`);
      await redis.cmd('FLUSHALL');
      for (const [n, p] of proxies.entries()) assert.equal(await p.who('shared.test'), '<400>', `trial ${i}, instance ${n}: after FLUSHALL`);
    }
  });
});
