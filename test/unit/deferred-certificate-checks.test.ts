// A snapshot of many `tls:` keys checks the first SNAPSHOT_CHECKS values and
// defers the rest (adapters/redis/emitted-certificates.ts); a handshake that
// selects a deferred one has it checked first (src/proxy/tls/sni.ts), and
// DeferredChecks checks the rest in the background.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DeferredChecks } from '../../adapters/redis/deferred-checks.js';
import { digestOf, EmittedCertificates, type StoredCertificate } from '../../adapters/redis/emitted-certificates.js';
import { logger } from '../../src/log.js';
import { sniCallback } from '../../src/proxy/tls/sni.js';
import type { ProxyContext } from '../../src/proxy/settings.js';
import type { SecureContextCache } from '../../src/proxy/tls/contexts.js';
import { RoutingTable } from '../../src/routing/table.js';
import type { CertificateSpec, ConfigEvent } from '../../src/vocabulary/events.js';
import { makeCa, makeLeaf, opensslDate, type TestCertificate } from '../helpers/certificates.js';
import { waitFor } from '../helpers/wait.js';

function stored(pem: string): StoredCertificate {
  return { kind: 'pem', digest: digestOf(pem), text: () => pem };
}

let good: TestCertificate;
let wildcard: TestCertificate;
let expired: TestCertificate;

before(() => {
  const ca = makeCa();
  good = makeLeaf(ca, { names: ['a.example.test'] });
  wildcard = makeLeaf(ca, { names: ['*.example.test'] });
  expired = makeLeaf(ca, { names: ['b.example.test'], notBefore: opensslDate(Date.now() - 10 * 86_400_000), notAfter: opensslDate(Date.now() - 86_400_000) });
});

/** EmittedCertificates after a snapshot that read `values` with a budget of `checks`, and the certificates it serves. */
function snapshotOf(values: Record<string, string>, checks: number) {
  const emitted = new EmittedCertificates('redis', (name) => `tls:${name}`, logger('test'));
  const budget = { checks };
  const judged = Object.entries(values).map(([name, pem]) => ({ name, verdict: emitted.judge(name, stored(pem), Date.now(), budget) }));
  return { emitted, served: emitted.snapshot(judged) };
}

describe('a snapshot past its check budget', () => {
  test('holds the values past the budget unchecked, with no expiry known, and checks the ones before', () => {
    const { emitted, served } = snapshotOf({ 'a.example.test': good.pem, 'b.example.test': expired.pem, '*.example.test': wildcard.pem }, 1);
    assert.deepEqual(
      served.map((c) => [c.key, c.checked]),
      [
        ['a.example.test', true],
        ['b.example.test', false],
        ['*.example.test', false],
      ],
    );
    assert.equal(served[1]!.notAfter, Number.POSITIVE_INFINITY);
    assert.deepEqual([...emitted.unchecked()], ['b.example.test', '*.example.test']);
    assert.deepEqual(emitted.quarantined, [], 'a deferred bad value is not known bad yet');
  });

  test('with the budget not spent, checks every value (the expired one is kept out at once)', () => {
    const { emitted, served } = snapshotOf({ 'a.example.test': good.pem, 'b.example.test': expired.pem }, 10);
    assert.deepEqual(
      served.map((c) => c.key),
      ['a.example.test'],
    );
    assert.equal(emitted.quarantined.length, 1);
  });

  test('checkNow: a good one becomes a checked certificate-set; a bad one is removed and quarantined; a checked one is left', () => {
    const { emitted } = snapshotOf({ 'a.example.test': good.pem, 'b.example.test': expired.pem, '*.example.test': wildcard.pem }, 1);
    const set = emitted.checkNow('*.example.test');
    assert.equal(set?.type, 'certificate-set');
    assert.ok(set?.type === 'certificate-set' && set.certificate.checked && set.certificate.fingerprint === wildcard.fingerprint);
    assert.deepEqual(emitted.checkNow('b.example.test'), { type: 'certificate-removed', source: 'redis', key: 'b.example.test' });
    assert.deepEqual(emitted.quarantined.map((q) => [q.key, q.serving]), [['b.example.test', 'none']]);
    assert.match(emitted.quarantined[0]!.reason, /expired/);
    assert.equal(emitted.checkNow('a.example.test'), null);
    assert.deepEqual([...emitted.unchecked()], []);
  });

  test('a value read again unchanged stays as it was: unchecked, and not checked by the re-read', () => {
    const { emitted } = snapshotOf({ 'b.example.test': expired.pem }, 0);
    assert.equal(emitted.change('b.example.test', stored(expired.pem)), null);
    assert.deepEqual([...emitted.unchecked()], ['b.example.test']);
  });
});

describe('a handshake selecting an unchecked certificate', () => {
  /** A table fed by `emitted`'s snapshot, and the SNI callback over it, with the checks its handshakes asked for. */
  function handshakes(values: Record<string, string>) {
    const { emitted, served } = snapshotOf(values, 0);
    const table = new RoutingTable();
    const apply = (event: ConfigEvent | null) => event !== null && table.apply(event);
    apply({ type: 'snapshot', source: 'redis', version: 'v', frontends: [], dead: [], certificates: served });
    const asked: string[] = [];
    const ctx = {
      table,
      whenCurrent: () => false,
      checkCertificate: ({ certificate }) => {
        asked.push(certificate.key);
        apply(emitted.checkNow(certificate.key));
      },
    } as Partial<ProxyContext> as ProxyContext;
    const given: CertificateSpec[] = [];
    const contexts = { for: (c: CertificateSpec) => (given.push(c), { context: c.key }) } as unknown as SecureContextCache;
    const sni = sniCallback(ctx, contexts);
    const handshake = (name: string) => {
      given.length = 0;
      sni(name, () => {});
      return given[0] ?? null;
    };
    return { handshake, asked, table };
  }

  test('has it checked first, and is given it checked', () => {
    const { handshake, asked, table } = handshakes({ 'a.example.test': good.pem });
    const served = handshake('a.example.test');
    assert.deepEqual(asked, ['a.example.test']);
    assert.ok(served?.checked, 'the checked certificate');
    assert.equal(served.fingerprint, good.fingerprint);
    assert.equal(table.certificates.select('a.example.test')?.certificate, served, 'the table holds it checked');
    handshake('a.example.test');
    assert.deepEqual(asked, ['a.example.test'], 'checked once');
  });

  test('one that fails its check is never served: the wildcard covering the name is (checked too), else the default', () => {
    const { handshake, asked } = handshakes({ 'b.example.test': expired.pem, '*.example.test': wildcard.pem });
    const served = handshake('b.example.test');
    assert.deepEqual(asked, ['b.example.test', '*.example.test']);
    assert.equal(served?.fingerprint, wildcard.fingerprint);
    const alone = handshakes({ 'b.example.test': expired.pem });
    assert.equal(alone.handshake('b.example.test'), null, 'the default');
  });
});

test('DeferredChecks checks every name it is given, in slices, then says it is done', async () => {
  const left = new Set(Array.from({ length: 500 }, (_, i) => `h${i}`));
  let done = 0;
  const checks = new DeferredChecks(
    () => left,
    (name) => {
      const until = performance.now() + 0.1;
      while (performance.now() < until); // a check's CPU
      left.delete(name);
    },
    () => done++,
  );
  checks.schedule();
  checks.schedule(); // under way: not twice
  await waitFor(() => done === 1, { timeoutMs: 10_000, message: 'the checks done' });
  assert.equal(left.size, 0);
  checks.stop();
});
