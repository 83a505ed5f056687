// SPEC §5 "many Switchyard instances share one Redis (with Sentinel for
// failover)": with `redis.sentinel` the proxy reads from and writes dead marks
// to the master the sentinel names; when the master dies and the sentinel
// promotes the replica, the proxy keeps serving from the last known table,
// logs the switch, moves every connection to the new master and resynchronises,
// and read-your-writes holds again there.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { refusingPort, startHttpBackend } from '../helpers/backends.js';
import { request } from '../helpers/http.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { countLog, deadMembers, nameOf, timed, waitForLog } from '../helpers/redis-proxy.js';
import { startSentinel } from '../helpers/sentinel.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const NAME = 'mymaster';

interface Outcome {
  host: string;
  status: number;
  who: string;
  ms: number;
}

/** Requests for `hosts`, round-robin, one at a time, until stop() is called; resolves what they got. */
function traffic(sy: Switchyard, hosts: string[]): { stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const host = hosts[i % hosts.length]!;
      const { value: res, ms } = await timed(() => request({ port: sy.port, address: sy.address, host, timeoutMs: 10_000 }));
      outcomes.push({ host, status: res.status, who: nameOf(res), ms });
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return outcomes;
    },
  };
}

async function replicationUp(replica: RedisServer): Promise<boolean> {
  return (await replica.cmd('INFO', 'replication')).includes('master_link_status:up');
}

/** Requests `host` until the proxy's dead mark for backend 0 is in `redis`; every answer must be 200 from `expected`. */
async function markDead(sy: Switchyard, redis: RedisServer, host: string, expected: string): Promise<void> {
  await waitFor(
    async () => {
      const res = await request({ port: sy.port, address: sy.address, host, timeoutMs: 10_000 });
      assert.deepEqual([res.status, nameOf(res)], [200, expected], `${host} while its first backend refuses`);
      return (await deadMembers(redis, host)).join(',') === '0';
    },
    { timeoutMs: 20_000, intervalMs: 20, message: `dead:${host} = {0} on redis ${redis.port}` },
  );
  const ttl = Number(await redis.cmd('TTL', `dead:${host}`));
  assert.ok(ttl > 0 && ttl <= 30, `dead:${host} expires (TTL ${ttl})`);
}

test('Sentinel failover: served throughout from the last known table, then read-your-writes and dead marks on the promoted master', { timeout: 180_000 }, async (t) => {
  const master = await startRedis({ scope: t });
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)], scope: t });
  await waitFor(() => replicationUp(replica), { timeoutMs: 20_000, message: 'replica in sync with the master' });
  const sentinel = await startSentinel({ name: NAME, masterPort: master.port, scope: t });
  // Sentinel learns replicas from the master's INFO; without one it cannot fail over.
  await waitFor(async () => (await sentinel.replicaPorts()).includes(replica.port), { timeoutMs: 30_000, message: 'the sentinel knows the replica' });

  const a = await startHttpBackend({ name: 'a', scope: t });
  const b = await startHttpBackend({ name: 'b', scope: t });
  const dir = tempDir('sentinel-proxy', t);
  const sy = await startSwitchyard(
    {
      server: { workers: 1, accessLog: path.join(dir, 'access.log'), deadBackendTTL: 30, tcpTimeout: 2, retryOnError: 3, staticDir: null },
      http: { bind: ['127.0.0.1'] },
      redis: { sentinel: { name: NAME, nodes: [sentinel.address] } },
    },
    { scope: t, timeoutMs: 30_000 },
  );
  const who = async (host: string) => nameOf(await request({ port: sy.port, address: sy.address, host, timeoutMs: 10_000 }));
  await waitForLog(sy, `redis master found via sentinel name=${NAME} master=redis://127.0.0.1:${master.port}/0`, 20_000);
  await waitForLog(sy, 'redis snapshot loaded', 20_000);

  // Before the failover: the sentinel's master is read (read-your-writes) and written to.
  await master.cmd('RPUSH', 'frontend:one.test', 'site', a.url);
  assert.equal(await who('one.test'), 'a', 'a write to the master is seen by the next request');
  await master.cmd('RPUSH', 'frontend:mixed.test', 'site', `http://127.0.0.1:${await refusingPort()}`, a.url);
  await markDead(sy, master, 'mixed.test', 'a');
  await master.cmd('WAIT', 1, 10_000); // the replica holds all of it before the master dies

  // The failover, under traffic.
  const snapshotsBefore = countLog(sy, 'redis snapshot loaded');
  const load = traffic(sy, ['one.test', 'mixed.test', 'unknown.test']);
  let outcomes: Outcome[];
  try {
    await master.kill();
    await waitFor(async () => (await sentinel.masterAddress()) === `127.0.0.1:${replica.port}`, {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: `the sentinel promoted the replica (${replica.port})`,
    });
    await waitForLog(sy, `redis master changed from 127.0.0.1:${master.port} to 127.0.0.1:${replica.port} via sentinel`, 30_000);
    await waitFor(() => countLog(sy, 'redis snapshot loaded') > snapshotsBefore, { timeoutMs: 30_000, message: 'a resync from the new master' });
  } finally {
    outcomes = await load.stop();
  }
  for (const o of outcomes) {
    const expected = o.host === 'unknown.test' ? [400, '<400>'] : [200, 'a'];
    assert.deepEqual([o.status, o.who], expected, `${o.host} during the failover`);
  }
  t.diagnostic(`${outcomes.length} requests during the failover, the slowest in ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms`);
  const slow = outcomes.filter((o) => o.ms >= 2000);
  assert.deepEqual(slow, [], `${slow.length} of ${outcomes.length} requests waited on Redis during the failover`);
  assert.ok(outcomes.length >= 10, `only ${outcomes.length} requests during the failover`);

  // After: the promoted replica is the truth, read and written, with read-your-writes.
  assert.equal(await who('one.test'), 'a', 'the snapshot of the new master keeps the replicated route');
  await replica.cmd('RPUSH', 'frontend:two.test', 'site', b.url);
  assert.equal(await who('two.test'), 'b', 'a write to the new master is seen by the next request');
  await replica.cmd('LSET', 'frontend:one.test', 1, b.url);
  assert.equal(await who('one.test'), 'b', 'a change on the new master is seen by the next request');
  await replica.cmd('RPUSH', 'frontend:mixed2.test', 'site', `http://127.0.0.1:${await refusingPort()}`, b.url);
  await markDead(sy, replica, 'mixed2.test', 'b');
  assert.equal(countLog(sy, 'redis master changed from'), 1, 'one switch, logged once');
});

test('the sentinels are asked in order: an unreachable one and one that does not know the master are skipped', { timeout: 120_000 }, async (t) => {
  const master = await startRedis({ scope: t });
  const stranger = await startSentinel({ name: 'othermaster', masterPort: master.port, scope: t });
  const sentinel = await startSentinel({ name: NAME, masterPort: master.port, scope: t });
  const a = await startHttpBackend({ name: 'a', scope: t });
  const unreachable = `127.0.0.1:${await refusingPort()}`;
  const sy = await startSwitchyard(
    {
      server: { workers: 1, staticDir: null },
      http: { bind: ['127.0.0.1'] },
      redis: { sentinel: { name: NAME, nodes: [unreachable, stranger.address, sentinel.address] } },
    },
    { scope: t, timeoutMs: 30_000 },
  );
  await waitForLog(sy, `redis master found via sentinel name=${NAME} master=redis://127.0.0.1:${master.port}/0`, 20_000);
  const skipped = await waitForLog(sy, `sentinel skipped; ${sentinel.address} answered`);
  assert.ok(skipped.includes(`sentinel ${unreachable}: `), `the unreachable sentinel is named: ${skipped}`);
  assert.ok(skipped.includes(`sentinel ${stranger.address} does not monitor`), `the sentinel without the master is named: ${skipped}`);
  await waitForLog(sy, 'redis snapshot loaded', 20_000);
  await master.cmd('RPUSH', 'frontend:one.test', 'site', a.url);
  assert.equal(nameOf(await request({ port: sy.port, address: sy.address, host: 'one.test', timeoutMs: 10_000 })), 'a');
});
