// The Redis adapter's snapshot read (adapters/redis/snapshot.ts) against a
// real redis-server: one SCAN pass, pipelined reads parsed in place. Proves
// that every kind of key comes through, over many pages and replies split
// across socket reads, that malformed data is skipped with a log line, that
// `tls:` certificates are judged as they are read and not again once known, and
// that a silent server fails the read instead of hanging it.
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { HipacheReader, NO_EXPIRY } from '../../adapters/redis/reader.js';
import { KeySpace } from '../../adapters/redis/keys.js';
import { SnapshotRead, type CertificateJudge } from '../../adapters/redis/snapshot.js';
import { EmittedCertificates } from '../../adapters/redis/emitted-certificates.js';
import type { RedisEndpoint } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';
import { makeCa, makeLeaf } from '../helpers/certificates.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

interface Captured extends Logger {
  warnings: string[];
}

function captureLog(): Captured {
  const warnings: string[] = [];
  const line = (msg: string, fields?: Record<string, unknown>) => `${msg} ${JSON.stringify(fields ?? {})}`;
  return { warnings, debug() {}, info() {}, error: (m, f) => warnings.push(line(m, f)), warn: (m, f) => warnings.push(line(m, f)) };
}

function endpoint(port: number, extra: Partial<RedisEndpoint> = {}): RedisEndpoint {
  return { host: '127.0.0.1', port, db: 0, prefix: '', display: `redis://127.0.0.1:${port}`, ...extra };
}

function read(at: RedisEndpoint, log: Logger, idleTimeoutMs = 5000, judge?: CertificateJudge): SnapshotRead {
  const keys = new KeySpace(at.prefix);
  const certificates = new EmittedCertificates('redis', (name) => keys.tls(name), log);
  judge ??= (name, stored) => certificates.judge(name, stored);
  return new SnapshotRead(at, keys, new HipacheReader(() => { throw new Error('not used'); }, keys, log), log, idleTimeoutMs, judge);
}

describe('the Redis snapshot read', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedis();
  });

  test('reads frontends of every kind and dead sets in one pass; wrong types and bad backends are logged and skipped', async () => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:a.test', 'site-a', 'http://a:1', 'http://a:2');
    await redis.cmd('RPUSH', 'frontend:*.w.test', 'wild', 'http://w:1');
    await redis.cmd('RPUSH', 'frontend:*', 'any', 'http://any:1');
    await redis.cmd('RPUSH', 'frontend:café.test', 'ünïcode', 'http://c:1');
    await redis.cmd('RPUSH', 'frontend:only-id.test', 'lonely');
    await redis.cmd('RPUSH', 'frontend:bad.test', 'site', 'notaurl', 'http://b:1');
    await redis.cmd('SET', 'frontend:str.test', 'oops');
    await redis.cmd('HSET', 'frontend:hash.test', 'f', 'v');
    await redis.cmd('SADD', 'dead:a.test', '1', 'foo');
    await redis.cmd('PEXPIRE', 'dead:a.test', 60_000);
    await redis.cmd('SADD', 'dead:x.test', '0');
    await redis.cmd('SET', 'dead:str.test', 'oops');
    for (const decoy of ['fend:x', 'done', 'frontends', 'dread:x', 'other:frontend:y']) await redis.cmd('RPUSH', decoy, 'decoy', 'http://d:1');

    const log = captureLog();
    const before = Date.now();
    const { frontends, dead } = await read(endpoint(redis.port), log).done;
    const got = [...frontends].map((f) => `${f.key}|${f.id}|${f.backends.join(',')}`).sort();
    assert.deepEqual(got, [
      '*.w.test|wild|http://w:1',
      '*|any|http://any:1',
      'a.test|site-a|http://a:1,http://a:2',
      'bad.test|site|notaurl,http://b:1',
      'café.test|ünïcode|http://c:1',
      'only-id.test|lonely|',
    ]);
    const marks = [...dead].sort((x, y) => x.host.localeCompare(y.host));
    assert.deepEqual(marks.map((m) => `${m.host}:${m.index}`), ['a.test:1', 'x.test:0']);
    assert.ok(marks[0]!.until >= before + 59_000 && marks[0]!.until <= Date.now() + 60_000, 'PTTL read');
    assert.equal(marks[1]!.until, NO_EXPIRY, 'no TTL: holds until removed');
    const warnings = log.warnings.join('\n');
    assert.match(warnings, /malformed backend skipped.*"key":"frontend:bad.test","index":0,"backend":"notaurl"/);
    assert.match(warnings, /not a list.*frontend:str.test/);
    assert.match(warnings, /not a list.*frontend:hash.test/);
    assert.match(warnings, /not a set.*dead:str.test/);
    assert.match(warnings, /not a backend index.*dead:a.test/);
    assert.equal(log.warnings.length, 5, warnings);
  });

  test('20k frontends over many pages, a 12,000-backend list (600 KB) larger than the read window, shared lists shared', async () => {
    await redis.cmd('FLUSHALL');
    await redis.cmd(
      'EVAL',
      `for i = 0, 19999 do
         local list = (i % 7 == 0) and ('http://own' .. i .. ':1') or ARGV[1]
         redis.call('RPUSH', 'frontend:h' .. i .. '.many.test', 'h' .. i, list)
       end
       for i = 1, 12000 do redis.call('RPUSH', 'frontend:big.test', (i == 1) and 'big' or ('http://backend-with-a-long-name-' .. i .. '.internal:8080')) end
       for i = 0, 99 do redis.call('SADD', 'dead:h' .. i .. '.many.test', i % 3) end`,
      '0',
      'http://shared:1',
    );
    const log = captureLog();
    const { frontends, dead } = await read(endpoint(redis.port), log).done;
    assert.equal(frontends.size, 20_001);
    for (let i = 0; i < 20_000; i++) {
      const f = frontends.get(`h${i}.many.test`);
      assert.equal(f?.id, `h${i}`);
      assert.deepEqual(f?.backends, [i % 7 === 0 ? `http://own${i}:1` : 'http://shared:1'], `h${i}`);
    }
    assert.equal(frontends.backendLists, 1 + Math.ceil(20_000 / 7) + 1);
    const big = frontends.get('big.test')!;
    assert.equal(big.backends.length, 11999);
    assert.equal(big.backends[11998], 'http://backend-with-a-long-name-12000.internal:8080');
    assert.equal(dead.length, 100);
    assert.ok(dead.every((m) => m.index === Number(/^h(\d+)\./.exec(m.host)![1]) % 3));
    assert.deepEqual(log.warnings, []);
  });

  test('tls: keys in the same pass, over many pages: each value checked as it is read, and not again once known by its digest', async () => {
    await redis.cmd('FLUSHALL');
    const ca = makeCa();
    const wild = makeLeaf(ca, { names: ['*.many.test'] });
    const COUNT = 2500;
    await redis.cmd('EVAL', `for i = 0, ${COUNT - 1} do redis.call('SET', 'tls:c' .. i .. '.many.test', ARGV[1]) end`, '0', wild.pem);
    await redis.cmd('SET', 'tls:*.many.test', wild.pem);
    await redis.cmd('SET', 'tls:bad.test', wild.pem); // does not cover bad.test
    await redis.cmd('RPUSH', 'tls:list.test', 'x');
    await redis.cmd('PEXPIRE', 'tls:c0.many.test', 60_000);
    for (const decoy of ['tl:x', 'tlsx:y', 'other:tls:z']) await redis.cmd('SET', decoy, wild.pem);
    await redis.cmd('RPUSH', 'frontend:a.test', 'a', 'http://a:1');

    const log = captureLog();
    const emitted = new EmittedCertificates('redis', (name) => `tls:${name}`, log);
    let texts = 0; // values made into a string, to be checked
    const counting: CertificateJudge = (name, stored) => emitted.judge(name, stored.kind === 'pem' ? { ...stored, text: () => (texts++, stored.text()) } : stored);
    const first = await read(endpoint(redis.port), log, 5000, counting).done;
    assert.equal(first.frontends.size, 1, 'frontends read in the same pass');
    assert.equal(first.certificates.length, COUNT + 3);
    assert.equal(texts, COUNT + 2, 'every string value checked once (the list has no text)');
    const verdicts = new Map(first.certificates.map(({ name, verdict }) => [name, verdict]));
    assert.equal(verdicts.get('c7.many.test')?.kind, 'good');
    assert.equal(verdicts.get('*.many.test')?.kind, 'good');
    assert.match(verdicts.get('bad.test')?.kind === 'bad' ? verdicts.get('bad.test')!.reason : '', /^does not cover bad\.test/);
    assert.match(verdicts.get('list.test')?.kind === 'bad' ? verdicts.get('list.test')!.reason : '', /^not a string/);
    assert.deepEqual(first.expiring.map(([key]) => key), ['tls:c0.many.test'], 'the TTL of a tls: key is read');
    const served = emitted.snapshot(first.certificates);
    assert.equal(served.length, COUNT + 1);
    assert.equal(served.find((c) => c.key === 'c7.many.test')?.fingerprint, wild.fingerprint);
    assert.deepEqual(emitted.quarantined.map((q) => `${q.key}:${q.serving}`).sort(), ['bad.test:none', 'list.test:none']);
    assert.equal(log.warnings.length, 2, log.warnings.join('\n'));
    assert.ok(!log.warnings.join('\n').includes('BEGIN'), 'no PEM in the log');

    texts = 0;
    await redis.cmd('SET', 'tls:c1.many.test', `${wild.pem}\n`); // one value changed
    const second = await read(endpoint(redis.port), log, 5000, counting).done;
    assert.equal(texts, 1, 'only the changed value is checked (the bad one is known too)');
    const again = emitted.snapshot(second.certificates);
    assert.equal(again.find((c) => c.key === 'c7.many.test'), served.find((c) => c.key === 'c7.many.test'), 'an unchanged certificate is the one already held, not a copy');
    assert.equal(log.warnings.length, 2, 'a value kept out already is not logged again');
  });

  test('password, db number and prefix: only prefix:frontend:* and prefix:dead:* of that db', async (t) => {
    const secured = await startRedis({ scope: t });
    await secured.cmd('SELECT', '3'); // the helper's connection: harmless, the data goes through EVAL below
    await secured.cmd('EVAL', `redis.call('SELECT', 3)
      redis.call('RPUSH', 'p:frontend:in.test', 'in', 'http://in:1')
      redis.call('SADD', 'p:dead:in.test', '0')
      redis.call('RPUSH', 'frontend:noprefix.test', 'x', 'http://x:1')
      redis.call('SELECT', 0)
      redis.call('RPUSH', 'p:frontend:db0.test', 'x', 'http://x:1')`, '0');
    await secured.cmd('CONFIG', 'SET', 'requirepass', 's3cret');
    const log = captureLog();
    const { frontends, dead } = await read(endpoint(secured.port, { password: 's3cret', db: 3, prefix: 'p:' }), log).done;
    assert.deepEqual([...frontends].map((f) => f.key), ['in.test']);
    assert.deepEqual(dead.map((m) => `${m.host}:${m.index}`), ['in.test:0']);
    await assert.rejects(read(endpoint(secured.port, { password: 'wrong', db: 3, prefix: 'p:' }), log).done, /WRONGPASS|invalid password/);
  });

  test('a server that never answers fails the read after the idle timeout; abort rejects at once', async (t) => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => silent.close());
    const { port } = silent.address() as net.AddressInfo;
    const started = Date.now();
    await assert.rejects(read(endpoint(port), captureLog(), 300).done, /no answer from redis within 300 ms/);
    assert.ok(Date.now() - started < 3000);
    const aborted = read(endpoint(port), captureLog());
    setTimeout(() => aborted.abort(), 50);
    await assert.rejects(aborted.done, /aborted/);
  });
});
