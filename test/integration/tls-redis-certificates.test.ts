// SPEC §7: certificates from Redis `tls:<host-or-pattern>` keys (the PEM
// chain then the key, in a string), on real TLS handshakes with the
// CLI-started proxy and a real redis-server, in every change-following mode
// (and read through a replica). A handshake that starts after a write
// returned gets the new certificate (or, after a removal, the listener's
// default); bad values are quarantined and the last good certificate stays.
// Every served certificate is recognised by its SHA-256 fingerprint and
// verified with the test CA.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { before, describe, test } from 'node:test';
import { makeCa, makeLeaf, opensslDate, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { hipacheConfig } from '../helpers/config.js';
import { request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { countLog, redisClient, waitForLog } from '../helpers/redis-proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { delay, waitFor } from '../helpers/wait.js';

const NO_CONFIG = ['--rename-command', 'CONFIG', ''];
const MODES = [
  { mode: 'keyspace', redisArgs: [] as string[] },
  { mode: 'tracking', redisArgs: NO_CONFIG },
  { mode: 'per-request', redisArgs: NO_CONFIG },
] as const;
const TRIALS = 50;
const DAY = 86_400_000;

interface Served {
  fingerprint: string;
  /** The chain verifies with the test CA and names the SNI name. */
  authorized: boolean;
  authorizationError: string | null;
}

/** One TLS handshake with the proxy, SNI `servername` (none when null); resolves what it served. */
function handshake(port: number, ca: TestCa, servername: string | null): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: [ca.cert], rejectUnauthorized: false, ...(servername === null ? {} : { servername }) });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', reject);
    socket.on('secureConnect', () => {
      const served = {
        fingerprint: socket.getPeerCertificate().fingerprint256,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError === undefined ? null : String(socket.authorizationError),
      };
      socket.destroy();
      resolve(served);
    });
  });
}

interface Instance {
  redis: RedisServer;
  proxy: Switchyard;
  httpsPort: number;
  adminPort: number;
  /** The https.cert certificate's fingerprint: what a handshake gets when no `tls:` key serves its name. */
  fallback: string;
}

interface InstanceOptions {
  mode: string;
  redisArgs: readonly string[];
  /** Writes made before the proxy starts. */
  before?: (redis: RedisServer) => Promise<void>;
  /** The driver URL's key prefix. */
  prefix?: string;
  /** Read from this Redis (a replica) and write to `master`, instead of starting one. */
  replica?: { replica: RedisServer; master: RedisServer };
}

async function startInstance(opts: InstanceOptions): Promise<Instance> {
  const redis = opts.replica?.replica ?? (await startRedis({ args: [...opts.redisArgs] }));
  await opts.before?.(redis);
  const dir = tempDir('tls-redis');
  const fallbackCert = selfSignedCert();
  const [httpsPort, adminPort] = [await freePort(), await freePort()];
  const prefix = opts.prefix === undefined ? '' : `#${opts.prefix}`;
  const config = {
    ...hipacheConfig({ redisUrl: opts.replica === undefined ? `${redis.url}${prefix}` : [opts.replica.replica.url, opts.replica.master.url], dir }),
    https: { port: httpsPort, bind: ['127.0.0.1'], key: fallbackCert.key, cert: fallbackCert.cert },
    redis: { tracking: opts.mode },
    admin: { port: adminPort },
  };
  const proxy = await startSwitchyard(config);
  await waitFor(async () => (await request({ port: adminPort, host: '127.0.0.1', path: '/status' })).status === 200, { message: 'the admin API answering' });
  const fallback = new X509Certificate(readFileSync(fallbackCert.cert)).fingerprint256;
  return { redis, proxy, httpsPort, adminPort, fallback };
}

async function sourceStatus(adminPort: number): Promise<Record<string, any>> {
  const res = await request({ port: adminPort, host: '127.0.0.1', path: '/status' });
  assert.equal(res.status, 200, res.text);
  const sources = (JSON.parse(res.text) as { sources: Record<string, any>[] }).sources;
  return sources.find((s) => s.name === 'redis')!;
}

/** The certificate-set events the table recorded for `key`. */
async function certificateSets(adminPort: number, key: string): Promise<number> {
  const res = await request({ port: adminPort, host: '127.0.0.1', path: '/events' });
  assert.equal(res.status, 200, res.text);
  const { events } = JSON.parse(res.text) as { events: { type: string; certificate?: { key: string } }[] };
  return events.filter((e) => e.type === 'certificate-set' && e.certificate?.key === key).length;
}

let ca: TestCa;
/** Certificates, by what they are for; each one's names are *.example.test hosts. */
const leaf: Record<string, TestCertificate> = {};

before(() => {
  ca = makeCa();
  const now = Date.now();
  leaf.boot = makeLeaf(ca, { names: ['boot.example.test'] });
  leaf.one = makeLeaf(ca, { names: ['one.example.test'] });
  leaf.wild = makeLeaf(ca, { names: ['*.example.test'] });
  leaf.exact = makeLeaf(ca, { names: ['x.example.test'] });
  leaf.rywA = makeLeaf(ca, { names: ['ryw.example.test'] });
  leaf.rywB = makeLeaf(ca, { names: ['ryw.example.test'], keyType: 'rsa' });
  leaf.gone = makeLeaf(ca, { names: ['gone.example.test', 'moved.example.test'] });
  leaf.quarantine = makeLeaf(ca, { names: ['q-parse.example.test', 'q-key.example.test', 'q-expired.example.test', 'q-cover.example.test', 'q-type.example.test'] });
  leaf.expired = makeLeaf(ca, { names: ['q-expired.example.test', 'q-none.example.test'], notBefore: opensslDate(now - 3 * DAY), notAfter: opensslDate(now - DAY) });
  leaf.other = makeLeaf(ca, { names: ['other.example.test'] });
  leaf.masterA = makeLeaf(ca, { names: ['kept.example.test', 'dropped.example.test'] });
  leaf.masterB = makeLeaf(ca, { names: ['kept.example.test', 'added.example.test'] });
});

for (const { mode, redisArgs } of MODES) {
  describe(`certificates from tls: keys, "${mode}" mode`, () => {
    let it: Instance;

    before(async () => {
      it = await startInstance({
        mode,
        redisArgs,
        before: async (redis) => {
          await redis.cmd('SET', 'tls:boot.example.test', leaf.boot!.pem);
          await redis.cmd('SET', 'tls:q-none.example.test', leaf.expired!.pem);
          await redis.cmd('SET', 'tls:UP.example.test', leaf.wild!.pem);
        },
      });
    });

    const serve = (name: string | null) => handshake(it.httpsPort, ca, name);
    /** The next handshake for `name` gets `cert`, and it verifies with the test CA for that name. */
    const assertServes = async (name: string, cert: TestCertificate, why: string) => {
      const served = await serve(name);
      assert.equal(served.fingerprint, cert.fingerprint, `${why}: ${name} gets its tls: certificate`);
      assert.equal(served.authorized, true, `${why}: verified by the test CA (${served.authorizationError})`);
    };
    const assertFallback = async (name: string | null, why: string) => {
      assert.equal((await serve(name)).fingerprint, it.fallback, `${why}: ${name ?? 'no SNI'} gets the default certificate`);
    };

    test('a certificate stored before the proxy started is served (the snapshot); a bad one stored then is quarantined', async () => {
      await waitForLog(it.proxy, `following redis changes mode=${mode}`);
      await assertServes('boot.example.test', leaf.boot!, 'snapshot');
      await assertFallback('q-none.example.test', 'expired at start, nothing before it');
      await waitForLog(it.proxy, /certificate quarantined.*key=tls:q-none\.example\.test.*reason="expired on/);
      const { quarantinedCertificates } = await sourceStatus(it.adminPort);
      const entry = quarantinedCertificates.find((q: { key: string }) => q.key === 'q-none.example.test');
      assert.equal(entry?.serving, 'none');
      assert.match(entry?.reason, /^expired on /);
    });

    test('a name in upper case is kept out, with the name to use (SNI names are matched in lowercase)', async () => {
      await waitForLog(it.proxy, /certificate quarantined.*key=tls:UP\.example\.test.*not in lowercase.*store it as tls:up\.example\.test/);
      await assertFallback('up.example.test', 'stored under an upper-case name');
      const { quarantinedCertificates } = await sourceStatus(it.adminPort);
      assert.equal(quarantinedCertificates.find((q: { key: string }) => q.key === 'UP.example.test')?.serving, 'none');
    });

    test('SET tls:<host>: the next handshake with that SNI gets that certificate; no SNI gets the default', async () => {
      await assertFallback('one.example.test', 'before the SET');
      await it.redis.cmd('SET', 'tls:one.example.test', leaf.one!.pem);
      await assertServes('one.example.test', leaf.one!, 'after the SET');
      await assertServes('ONE.Example.Test', leaf.one!, 'SNI in other case');
      await assertFallback(null, 'no SNI');
    });

    test('a wildcard tls:*.example.test serves a.example.test, not a.b.example.test nor example.test; an exact name beats it', async () => {
      await it.redis.cmd('SET', 'tls:*.example.test', leaf.wild!.pem);
      await assertServes('a.example.test', leaf.wild!, 'one label under the wildcard');
      await assertFallback('a.b.example.test', 'two labels under the wildcard');
      await assertFallback('example.test', 'the wildcard\'s own parent');
      await it.redis.cmd('SET', 'tls:x.example.test', leaf.exact!.pem);
      await assertServes('x.example.test', leaf.exact!, 'exact beats wildcard');
      await assertServes('y.example.test', leaf.wild!, 'the wildcard still serves the others');
      await it.redis.cmd('DEL', 'tls:x.example.test');
      await assertServes('x.example.test', leaf.wild!, 'the exact one removed: the wildcard');
      await it.redis.cmd('DEL', 'tls:*.example.test');
      await assertFallback('a.example.test', 'the wildcard removed');
    });

    test(`read-your-writes: SET then handshake at once, ${TRIALS} times, each gets the new certificate; DEL then handshake gets the default`, async () => {
      for (let i = 0; i < TRIALS; i++) {
        const cert = i % 2 === 0 ? leaf.rywA! : leaf.rywB!;
        await it.redis.cmd('SET', 'tls:ryw.example.test', cert.pem);
        assert.equal((await serve('ryw.example.test')).fingerprint, cert.fingerprint, `trial ${i}: after SET`);
      }
      for (let i = 0; i < TRIALS; i++) {
        await it.redis.cmd('SET', 'tls:ryw.example.test', leaf.rywA!.pem);
        assert.equal((await serve('ryw.example.test')).fingerprint, leaf.rywA!.fingerprint, `trial ${i}: after SET`);
        await it.redis.cmd('DEL', 'tls:ryw.example.test');
        assert.equal((await serve('ryw.example.test')).fingerprint, it.fallback, `trial ${i}: after DEL`);
      }
    });

    test('removal by UNLINK, EXPIRE 0, a TTL running out and RENAME: the next handshake gets the default', async () => {
      const key = 'tls:gone.example.test';
      const removals: [string, () => Promise<unknown>][] = [
        ['UNLINK', () => it.redis.cmd('UNLINK', key)],
        ['EXPIRE 0', () => it.redis.cmd('EXPIRE', key, 0)],
        ['PEXPIRE 300 run out', async () => (await it.redis.cmd('PEXPIRE', key, 300), await delay(400))],
        ['RENAME away', () => it.redis.cmd('RENAME', key, 'tls:moved.example.test')],
      ];
      for (const [what, remove] of removals) {
        await it.redis.cmd('SET', key, leaf.gone!.pem);
        await assertServes('gone.example.test', leaf.gone!, `before ${what}`);
        await remove();
        await assertFallback('gone.example.test', `after ${what}`);
      }
      await assertServes('moved.example.test', leaf.gone!, 'renamed onto another name it covers');
    });

    test('FLUSHALL removes them; a certificate stored after it is served', async () => {
      await it.redis.cmd('SET', 'tls:one.example.test', leaf.one!.pem);
      await it.redis.cmd('SET', 'tls:*.example.test', leaf.wild!.pem);
      await assertServes('one.example.test', leaf.one!, 'before FLUSHALL');
      await assertServes('a.example.test', leaf.wild!, 'before FLUSHALL');
      await it.redis.cmd('FLUSHALL');
      await assertFallback('one.example.test', 'after FLUSHALL');
      await assertFallback('a.example.test', 'after FLUSHALL');
      await assertFallback('boot.example.test', 'after FLUSHALL');
      await it.redis.cmd('SET', 'tls:one.example.test', leaf.one!.pem);
      await assertServes('one.example.test', leaf.one!, 'stored after FLUSHALL');
    });

    test('SWAPDB with the database read: the next handshake gets the other database\'s certificates, and back', async () => {
      const db1 = await redisClient(`${it.redis.url}/1`);
      await it.redis.cmd('SET', 'tls:one.example.test', leaf.one!.pem);
      await db1.set('tls:*.example.test', leaf.wild!.pem);
      await assertServes('one.example.test', leaf.one!, 'before SWAPDB');
      await assertFallback('a.example.test', 'before SWAPDB');
      await it.redis.cmd('SWAPDB', 0, 1);
      await assertServes('a.example.test', leaf.wild!, 'after SWAPDB');
      await assertServes('one.example.test', leaf.wild!, 'after SWAPDB: its own certificate is in the other database');
      await it.redis.cmd('SWAPDB', 0, 1);
      await assertFallback('a.example.test', 'swapped back');
      await assertServes('one.example.test', leaf.one!, 'swapped back');
      await db1.flushDb();
    });

    test('a write that changes nothing emits nothing', async () => {
      await it.redis.cmd('SET', 'tls:*.example.test', leaf.wild!.pem);
      await assertServes('same.example.test', leaf.wild!, 'first SET');
      const sets = await certificateSets(it.adminPort, '*.example.test');
      assert.ok(sets >= 1, 'the first SET was an event');
      for (let i = 0; i < 5; i++) {
        await it.redis.cmd('SET', 'tls:*.example.test', leaf.wild!.pem);
        await assertServes('same.example.test', leaf.wild!, `the same value again (${i})`);
      }
      await delay(100);
      assert.equal(await certificateSets(it.adminPort, '*.example.test'), sets, 'no event for the same value');
      await it.redis.cmd('SET', 'tls:*.example.test', `${leaf.wild!.pem}\n`);
      await assertServes('same.example.test', leaf.wild!, 'a changed value');
      assert.equal(await certificateSets(it.adminPort, '*.example.test'), sets + 1, 'a changed value is one event');
      await it.redis.cmd('DEL', 'tls:*.example.test');
    });

    const good = () => leaf.quarantine!;
    const BAD: { name: string; what: string; write: (key: string) => Promise<unknown>; reason: RegExp }[] = [
      {
        name: 'q-parse.example.test',
        what: 'an unparsable certificate',
        write: (key) => it.redis.cmd('SET', key, good().pem.replace(/(-----BEGIN CERTIFICATE-----\n)(....)/, '$1!!!!')),
        reason: /^unparsable certificate/,
      },
      {
        name: 'q-key.example.test',
        what: 'a key that does not match',
        write: (key) => it.redis.cmd('SET', key, good().chain + leaf.other!.key),
        reason: /^the private key does not match/,
      },
      { name: 'q-expired.example.test', what: 'an expired certificate', write: (key) => it.redis.cmd('SET', key, leaf.expired!.pem), reason: /^expired on / },
      {
        name: 'q-cover.example.test',
        what: 'a certificate not covering the name it is stored under',
        write: (key) => it.redis.cmd('SET', key, leaf.other!.pem),
        reason: /^does not cover q-cover\.example\.test/,
      },
      {
        name: 'q-type.example.test',
        what: 'a value that is not a string',
        write: async (key) => (await it.redis.cmd('RPUSH', 'list', 'a'), await it.redis.cmd('RENAME', 'list', key)),
        reason: /^not a string/,
      },
    ];
    for (const bad of BAD) {
      test(`${bad.what} is quarantined: one log line, the previous certificate still served, listed in the status until a good value or a DEL`, async () => {
        const key = `tls:${bad.name}`;
        const entry = async () => (await sourceStatus(it.adminPort)).quarantinedCertificates.find((q: { key: string }) => q.key === bad.name);
        await it.redis.cmd('SET', key, good().pem);
        await assertServes(bad.name, good(), 'the good one');
        await bad.write(key);
        for (let i = 0; i < 3; i++) await assertServes(bad.name, good(), `after ${bad.what} (${i})`);
        const line = await waitForLog(it.proxy, new RegExp(`certificate quarantined.*key=${key.replace(/\./g, '\\.')} `));
        assert.match(line, /serving=previous/);
        assert.equal(countLog(it.proxy, `key=${key} `), 1, 'one log line, however often it is read');
        const quarantined = await entry();
        assert.equal(quarantined?.serving, 'previous');
        assert.match(quarantined?.reason ?? '', bad.reason);
        assert.ok(line.includes(JSON.stringify(quarantined.reason)) || line.includes(`reason=${quarantined.reason}`), 'the log line gives the reason');

        await it.redis.cmd('DEL', key);
        await it.redis.cmd('SET', key, good().pem);
        await assertServes(bad.name, good(), 'a good value again');
        assert.equal(await entry(), undefined, 'a good value clears the quarantine');
        await bad.write(key);
        await assertServes(bad.name, good(), 'bad again: the previous one');
        await waitFor(async () => (await entry())?.serving === 'previous', { message: 'quarantined again' });
        await it.redis.cmd('DEL', key);
        await assertFallback(bad.name, 'after DEL');
        assert.equal(await entry(), undefined, 'a DEL clears the quarantine');
      });
    }

    test('no PEM, and no private key, in the log', () => {
      const logs = it.proxy.logs();
      assert.doesNotMatch(logs, /BEGIN|PRIVATE KEY/);
      for (const cert of Object.values(leaf)) assert.equal(logs.includes(cert.key.split('\n')[1]!), false);
      assert.doesNotMatch(logs, /uncaught|worker died/);
    });
  });
}

/** A master answers a replica at once (Redis 7 waits 5 s for more replicas by default). */
const PROMPT_MASTER = ['--repl-diskless-sync-delay', '0'];

for (const { mode, redisArgs } of MODES) {
  describe(`"${mode}" mode, the [replica, master] driver: the replica's full resync`, () => {
    /** Waits until `replica` follows `master`, in sync, holding `expected` (tls: name -> PEM, null: none). */
    const synced = async (replica: RedisServer, master: RedisServer, expected: Record<string, string | null>): Promise<void> => {
      await waitFor(
        async () => {
          const info = await replica.cmd('INFO', 'replication');
          if (!info.includes(`master_port:${master.port}`) || !/master_link_status:up/.test(info) || !/master_sync_in_progress:0/.test(info)) return false;
          for (const [name, pem] of Object.entries(expected)) if ((await replica.cmd('GET', `tls:${name}`)) !== (pem ?? '')) return false;
          return true;
        },
        { timeoutMs: 15_000, intervalMs: 10, message: `the replica in sync with the master on ${master.port}` },
      );
    };

    test('REPLICAOF a master with other certificates: the first handshakes after the resync get them', async () => {
      const master = await startRedis({ args: PROMPT_MASTER });
      const other = await startRedis({ args: PROMPT_MASTER });
      const replica = await startRedis({ args: [...redisArgs, '--replicaof', '127.0.0.1', String(master.port)] });
      await master.cmd('SET', 'tls:kept.example.test', leaf.masterA!.pem);
      await master.cmd('SET', 'tls:dropped.example.test', leaf.masterA!.pem);
      await other.cmd('SET', 'tls:kept.example.test', leaf.masterB!.pem);
      await other.cmd('SET', 'tls:added.example.test', leaf.masterB!.pem);
      await synced(replica, master, { 'kept.example.test': leaf.masterA!.pem, 'dropped.example.test': leaf.masterA!.pem });
      const it = await startInstance({ mode, redisArgs, replica: { replica, master } });
      const served = async (name: string) => (await handshake(it.httpsPort, ca, name)).fingerprint;
      assert.equal(await served('kept.example.test'), leaf.masterA!.fingerprint);
      assert.equal(await served('dropped.example.test'), leaf.masterA!.fingerprint);

      await replica.cmd('REPLICAOF', '127.0.0.1', other.port);
      await synced(replica, other, { 'kept.example.test': leaf.masterB!.pem, 'added.example.test': leaf.masterB!.pem, 'dropped.example.test': null });
      assert.equal(await served('dropped.example.test'), it.fallback, 'a certificate the new master does not have');
      assert.equal(await served('kept.example.test'), leaf.masterB!.fingerprint, 'a certificate the new master has otherwise');
      assert.equal(await served('added.example.test'), leaf.masterB!.fingerprint, 'a certificate only the new master has');
    });
  });
}

describe('tls: keys under the driver URL\'s key prefix', () => {
  test('pfx:tls:<host> is served, tls:<host> without the prefix is not', async () => {
    const it = await startInstance({ mode: 'keyspace', redisArgs: [], prefix: 'pfx:', before: async (redis) => void (await redis.cmd('SET', 'pfx:tls:boot.example.test', leaf.boot!.pem)) });
    const serve = (name: string) => handshake(it.httpsPort, ca, name);
    assert.equal((await serve('boot.example.test')).fingerprint, leaf.boot!.fingerprint, 'read by the snapshot under the prefix');
    await it.redis.cmd('SET', 'pfx:tls:one.example.test', leaf.one!.pem);
    assert.equal((await serve('one.example.test')).fingerprint, leaf.one!.fingerprint, 'followed under the prefix');
    await it.redis.cmd('SET', 'tls:other.example.test', leaf.other!.pem);
    assert.equal((await serve('other.example.test')).fingerprint, it.fallback, 'a key without the prefix is not this source\'s');
  });
});

describe('more tls: keys than a snapshot checks at once (SNAPSHOT_CHECKS, 1,000)', () => {
  // 1,450 good values and 50 expired ones: about a third of them are past the snapshot's checks.
  const good = Array.from({ length: 1450 }, (_, i) => `d${i}.many.test`);
  const expired = Array.from({ length: 50 }, (_, i) => `x${i}.many.test`);
  let it: Instance;
  let wildcard: TestCertificate;
  let wildcardExpired: TestCertificate;

  before(async () => {
    wildcard = makeLeaf(ca, { names: ['*.many.test'] });
    const now = Date.now();
    wildcardExpired = makeLeaf(ca, { names: ['*.many.test'], notBefore: opensslDate(now - 3 * DAY), notAfter: opensslDate(now - DAY) });
    const pairs = [...good.flatMap((name) => [`tls:${name}`, wildcard.pem]), ...expired.flatMap((name) => [`tls:${name}`, wildcardExpired.pem])];
    it = await startInstance({ mode: 'keyspace', redisArgs: [], before: async (redis) => void (await redis.cmd('MSET', ...pairs)) });
  });

  test('the worker starts with the rest unchecked, says how many, and a handshake naming one gets it checked', async () => {
    const loaded = it.proxy.logs().split('\n').find((l) => l.includes('redis snapshot loaded'));
    const unchecked = Number(/uncheckedCertificates=(\d+)/.exec(loaded ?? '')?.[1]);
    assert.ok(unchecked >= 400, `most of the 500 past the first 1,000 left unchecked: ${loaded}`);
    // Right after the start, before the background checks are through: every name gets its own, checked.
    for (const name of [...good.slice(-20), ...good.slice(0, 20)]) {
      const served = await handshake(it.httpsPort, ca, name);
      assert.equal(served.fingerprint, wildcard.fingerprint, name);
      assert.ok(served.authorized, `${name}: ${served.authorizationError}`);
    }
    for (const name of expired) assert.equal((await handshake(it.httpsPort, ca, name)).fingerprint, it.fallback, `${name}: expired, never served`);
  });

  test('the background checks go through the rest: every expired one ends quarantined, every good one served', async () => {
    await waitForLog(it.proxy, 'deferred certificate checks done', 60_000);
    const quarantined = (await sourceStatus(it.adminPort)).quarantinedCertificates as { key: string; reason: string; serving: string }[];
    assert.deepEqual(quarantined.map((q) => q.key).sort(), [...expired].sort());
    assert.ok(quarantined.every((q) => /expired/.test(q.reason) && q.serving === 'none'));
    const res = await request({ port: it.adminPort, host: '127.0.0.1', path: '/status' });
    const counts = (JSON.parse(res.text) as { certificateCounts: Record<string, number> }).certificateCounts;
    assert.equal(counts.redis, good.length, JSON.stringify(counts));
  });
});
