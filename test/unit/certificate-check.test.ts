// What a source lets through as a certificate (src/tls/certificate.ts) and
// which one the table picks for an SNI name (src/routing/certificates.ts).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { CertificateIndex } from '../../src/routing/certificates.js';
import { checkCertificate, covers } from '../../src/tls/certificate.js';
import type { CertificateSpec } from '../../src/vocabulary/events.js';
import { makeCa, makeLeaf, opensslDate, type TestCa, type TestCertificate } from '../helpers/certificates.js';

const DAY = 86_400_000;

describe('checkCertificate', () => {
  let ca: TestCa;
  let www: TestCertificate;
  let wildcard: TestCertificate;
  let other: TestCertificate;

  before(() => {
    ca = makeCa();
    www = makeLeaf(ca, { names: ['www.example.test', 'example.test'] });
    wildcard = makeLeaf(ca, { names: ['*.example.test'] });
    other = makeLeaf(ca, { names: ['other.test'] });
  });

  test('a good chain and key stored under a name it covers: passes, serving that name, with its fingerprint and expiry', () => {
    const check = checkCertificate(www.pem, { key: 'www.example.test', name: 'WWW.example.test' });
    assert.ok(check.ok);
    assert.deepEqual(check.certificate.names, ['www.example.test']);
    assert.equal(check.certificate.fingerprint, www.fingerprint);
    assert.ok(check.certificate.notAfter > Date.now() + 29 * DAY);
  });

  test('a certDir file (no stored name) serves the DNS names of its SANs', () => {
    const check = checkCertificate(www.pem, { key: 'www.pem', name: null });
    assert.ok(check.ok);
    assert.deepEqual(check.certificate.names, ['www.example.test', 'example.test']);
  });

  test('a wildcard certificate covers one label under it, stored under a host or under the wildcard itself', () => {
    assert.ok(checkCertificate(wildcard.pem, { key: 'a.example.test', name: 'a.example.test' }).ok);
    assert.ok(checkCertificate(wildcard.pem, { key: '*.example.test', name: '*.example.test' }).ok);
    assert.equal(checkCertificate(wildcard.pem, { key: 'a.b.example.test', name: 'a.b.example.test' }).ok, false);
    assert.equal(checkCertificate(wildcard.pem, { key: 'example.test', name: 'example.test' }).ok, false);
    assert.equal(covers(['www.example.test'], '*.example.test'), false, 'a wildcard name needs the wildcard');
  });

  const rejected = (pem: string, name: string | null, reason: RegExp, now?: number) => {
    const check = checkCertificate(pem, { key: name ?? 'file.pem', name }, now);
    assert.equal(check.ok, false);
    if (!check.ok) assert.match(check.reason, reason);
  };

  test('rejected: not covering the name it is stored under', () => rejected(other.pem, 'www.example.test', /does not cover www\.example\.test \(it names other\.test\)/));
  test('rejected: a key that does not match', () => rejected(www.chain + other.key, 'www.example.test', /private key does not match/));
  test('rejected: no key', () => rejected(www.chain, 'www.example.test', /no private key/));
  test('rejected: no certificate', () => rejected(www.key, 'www.example.test', /no certificate/));
  test('rejected: garbage between the markers', () =>
    rejected('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' + www.key, 'www.example.test', /unparsable certificate/));
  test('rejected: a broken key', () => rejected(www.chain + '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'www.example.test', /unparsable private key/));
  test('rejected: two keys', () => rejected(www.pem + other.key, 'www.example.test', /more than one private key/));
  test('rejected: expired (as of `now`)', () => rejected(www.pem, 'www.example.test', /expired on/, Date.now() + 60 * DAY));
  test('rejected: a certificate really expired', () => {
    const old = makeLeaf(ca, { names: ['old.test'], notBefore: opensslDate(Date.now() - 10 * DAY), notAfter: opensslDate(Date.now() - DAY) });
    rejected(old.pem, 'old.test', /expired on/);
  });
  test('rejected: not valid yet', () => {
    const future = makeLeaf(ca, { names: ['new.test'], notBefore: opensslDate(Date.now() + DAY), notAfter: opensslDate(Date.now() + 10 * DAY) });
    rejected(future.pem, 'new.test', /not valid before/);
  });
  test('rejected: a certDir file naming no DNS name', () => rejected(makeLeaf(ca, { names: [] }).pem, null, /no DNS name/));
});

describe('CertificateIndex', () => {
  const spec = (key: string, names: string[], notAfter = Date.now() + DAY): CertificateSpec => ({ key, names, pem: '', notAfter, fingerprint: key });
  const rank = (source: string) => ['file', 'redis'].indexOf(source);

  test('exact name, then a wildcard one label up, else none (the default)', () => {
    const index = new CertificateIndex(rank);
    index.set('redis', spec('*.example.test', ['*.example.test']));
    index.set('redis', spec('www.example.test', ['www.example.test']));
    assert.equal(index.select('www.example.test')?.certificate.key, 'www.example.test');
    assert.equal(index.select('api.example.test')?.certificate.key, '*.example.test');
    assert.equal(index.select('a.api.example.test'), null, 'a wildcard covers one label');
    assert.equal(index.select('example.test'), null);
  });

  test('several for one name: the source of highest precedence, then the one expiring last', () => {
    const index = new CertificateIndex(rank);
    index.set('redis', spec('a', ['h.test'], Date.now() + 5 * DAY));
    index.set('redis', spec('b', ['h.test'], Date.now() + 9 * DAY));
    assert.equal(index.select('h.test')?.certificate.key, 'b');
    index.set('file', spec('c', ['h.test'], Date.now() + DAY));
    assert.equal(index.select('h.test')?.source, 'file');
    index.remove('file', 'c');
    assert.equal(index.select('h.test')?.certificate.key, 'b');
  });

  test('a certificate that expired while in the table is passed over: the next for that name, then the wildcard, then the default', () => {
    const index = new CertificateIndex(rank);
    const now = Date.now();
    index.set('file', spec('soon', ['h.test'], now + 1000));
    index.set('redis', spec('later', ['h.test'], now + 5000));
    index.set('redis', spec('*.test', ['*.test'], now + 9000));
    assert.equal(index.select('h.test', now)?.certificate.key, 'soon', 'precedence first while both are valid');
    assert.equal(index.select('h.test', now + 2000)?.certificate.key, 'later');
    assert.equal(index.select('h.test', now + 6000)?.certificate.key, '*.test');
    assert.equal(index.select('h.test', now + 10_000), null);
  });

  test('replacing a key drops its old names; a snapshot replaces all of a source', () => {
    const index = new CertificateIndex(rank);
    index.set('file', spec('x.pem', ['one.test', 'two.test']));
    index.set('file', spec('x.pem', ['two.test']));
    assert.equal(index.select('one.test'), null);
    assert.equal(index.select('two.test')?.certificate.key, 'x.pem');
    index.set('redis', spec('r', ['r.test']));
    index.replace('file', [spec('y.pem', ['three.test'])]);
    assert.equal(index.select('two.test'), null);
    assert.equal(index.select('three.test')?.certificate.key, 'y.pem');
    assert.deepEqual([...index.countBySource()], [['file', 1], ['redis', 1]]);
  });
});
