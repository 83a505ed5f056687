// OCSP by hand (src/proxy/tls/ocsp-message.ts) against openssl's own
// requests and responses, made offline (`openssl ocsp -reqout`, and
// `-reqin ... -respout` as a one-shot responder), and the stapler's cache
// (src/proxy/tls/ocsp-stapler.ts) with a fetch and a clock of the test's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeCa, makeLeaf, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { ocspExtension, revoke } from '../helpers/ocsp.js';
import { waitFor } from '../helpers/wait.js';
import { certId, ocspRequest, ocspResponderUrl, OcspError, readOcspResponse } from '../../src/proxy/tls/ocsp-message.js';
import { OcspStapler, type Timers } from '../../src/proxy/tls/ocsp-stapler.js';

const RESPONDER = 'http://127.0.0.1:9/ocsp'; // never asked: the tests fetch themselves
const DAY = 86_400_000;

const der = (pem: string): Buffer => new X509Certificate(pem).raw;

/** openssl's request for `leaf`, and what openssl answers it with, signed by `signer` (a file pair in the CA dir). */
function opensslExchange(ca: TestCa, leaf: TestCertificate, signer = { cert: 'ca.pem', key: 'ca.key' }): { request: Buffer; response: Buffer } {
  const run = (args: string[]) => execFileSync('openssl', ['ocsp', ...args], { cwd: ca.dir, stdio: 'pipe' });
  run(['-issuer', 'ca.pem', '-cert', leaf.file, '-no_nonce', '-reqout', 'req.der']);
  run(['-index', 'index.txt', '-CA', 'ca.pem', '-rsigner', signer.cert, '-rkey', signer.key, '-ndays', '1', '-reqin', 'req.der', '-respout', 'resp.der']);
  return { request: readFileSync(path.join(ca.dir, 'req.der')), response: readFileSync(path.join(ca.dir, 'resp.der')) };
}

describe('OCSP messages', () => {
  let ca: TestCa;
  let leaf: TestCertificate;
  let revoked: TestCertificate;

  before(() => {
    ca = makeCa();
    leaf = makeLeaf(ca, { names: ['good.test'], extensions: [ocspExtension(RESPONDER)] });
    revoked = makeLeaf(ca, { names: ['revoked.test'], extensions: [ocspExtension(RESPONDER)] });
    revoke(ca, revoked);
  });

  test('the responder URL is read from authorityInfoAccess; none without it', () => {
    assert.equal(ocspResponderUrl(new X509Certificate(leaf.chain)), RESPONDER);
    assert.equal(ocspResponderUrl(new X509Certificate(makeLeaf(ca, { names: ['plain.test'] }).chain)), null);
  });

  test('the request is byte for byte the one openssl makes (SHA-1 CertID, no nonce)', () => {
    const { request } = opensslExchange(ca, leaf);
    assert.deepEqual(ocspRequest(certId(der(leaf.chain), der(ca.cert))), request);
  });

  test("openssl's answers read as good and revoked, with thisUpdate and a nextUpdate a day later", () => {
    for (const [cert, status] of [[leaf, 'good'], [revoked, 'revoked']] as const) {
      const { response } = opensslExchange(ca, cert);
      const answer = readOcspResponse(response, certId(der(cert.chain), der(ca.cert)), der(ca.cert));
      assert.equal(answer.status, status);
      assert.ok(Math.abs(answer.thisUpdate - Date.now()) < 60_000);
      assert.ok(Math.abs(answer.nextUpdate! - answer.thisUpdate - DAY) < 60_000);
    }
  });

  test('a response signed by a delegated responder (OCSPSigning) is accepted; by a certificate without that usage, refused', () => {
    const delegate = makeLeaf(ca, { names: ['ocsp.test'], extensions: ['extendedKeyUsage=OCSPSigning'] });
    const plain = makeLeaf(ca, { names: ['other.test'] });
    const id = certId(der(leaf.chain), der(ca.cert));
    const signer = (c: TestCertificate) => ({ cert: c.file, key: c.file.replace(/\.pem$/, '.key') });
    assert.equal(readOcspResponse(opensslExchange(ca, leaf, signer(delegate)).response, id, der(ca.cert)).status, 'good');
    assert.throws(() => readOcspResponse(opensslExchange(ca, leaf, signer(plain)).response, id, der(ca.cert)), (e: OcspError) => e.code === 'OCSP_BAD_SIGNATURE');
  });

  test('a tampered signature, another certificate, an expired answer and garbage are refused with their codes', () => {
    const { response } = opensslExchange(ca, leaf);
    const id = certId(der(leaf.chain), der(ca.cert));
    // One digit of producedAt, in the signed tbsResponseData.
    const tampered = Buffer.from(response);
    tampered[tampered.indexOf(Buffer.from([0x18, 0x0f])) + 15]! ^= 0x01;
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'accepted';
      } catch (err) {
        return (err as OcspError).code;
      }
    };
    assert.equal(code(() => readOcspResponse(tampered, id, der(ca.cert))), 'OCSP_BAD_SIGNATURE');
    assert.equal(code(() => readOcspResponse(response, certId(der(revoked.chain), der(ca.cert)), der(ca.cert))), 'OCSP_NOT_FOR_CERTIFICATE');
    assert.equal(code(() => readOcspResponse(response, id, der(ca.cert), Date.now() + 2 * DAY)), 'OCSP_STALE');
    assert.equal(code(() => readOcspResponse(Buffer.from('<html>oops</html>'), id, der(ca.cert))), 'OCSP_MALFORMED');
    assert.equal(code(() => readOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]), id, der(ca.cert))), 'OCSP_UNSUCCESSFUL'); // unauthorized
  });
});

describe('the stapler', () => {
  let ca: TestCa;
  let leaf: TestCertificate;
  let response: Buffer;
  let now = Date.now();
  const staplers: OcspStapler[] = [];

  before(() => {
    ca = makeCa();
    leaf = makeLeaf(ca, { names: ['good.test'], extensions: [ocspExtension(RESPONDER)] });
    response = opensslExchange(ca, leaf).response;
  });
  after(() => staplers.forEach((s) => s.stop()));

  /** Timers the test runs itself: what was scheduled, in how long. */
  class ManualTimers implements Timers {
    scheduled: { fn: () => void; ms: number }[] = [];
    set(fn: () => void, ms: number): unknown {
      const t = { fn, ms };
      this.scheduled.push(t);
      return t;
    }
    clear(handle: unknown): void {
      this.scheduled = this.scheduled.filter((t) => t !== handle);
    }
    /** Runs the one refresh scheduled, as if its time had come. */
    fire(): number {
      assert.equal(this.scheduled.length, 1);
      const t = this.scheduled.shift()!;
      now += t.ms;
      t.fn();
      return t.ms;
    }
  }

  function stapler(fetch: () => Promise<Buffer>, inForce: Set<string>, timers?: Timers): OcspStapler {
    const s = new OcspStapler({ inForce: () => inForce, fetch, now: () => now, sweepMs: 3_600_000, ...(timers ? { timers } : {}) });
    staplers.push(s);
    return s;
  }

  /** What a handshake gets: the callback's response, synchronously. */
  const ask = (s: OcspStapler): Buffer | undefined => {
    let got: Buffer | undefined | 'not called';
    got = 'not called';
    s.onRequest(der(leaf.chain), der(ca.cert), (_err, r) => (got = r));
    assert.notEqual(got, 'not called', 'answered at once');
    return got as Buffer | undefined;
  };

  test('the first handshake gets nothing and starts the fetch; the next ones get the cached response, fetched once', async () => {
    now = Date.now();
    let fetches = 0;
    const s = stapler(async () => (fetches++, response), new Set([leaf.fingerprint]));
    assert.equal(ask(s), undefined);
    await waitFor(() => s.info(leaf.fingerprint)?.state === 'good');
    for (let i = 0; i < 5; i++) assert.deepEqual(ask(s), response);
    assert.equal(fetches, 1);
  });

  test('a response past its nextUpdate is no longer stapled', async () => {
    now = Date.now();
    const s = stapler(async () => response, new Set([leaf.fingerprint]));
    ask(s);
    await waitFor(() => s.info(leaf.fingerprint)?.stapled);
    now += DAY + 1000;
    assert.equal(ask(s), undefined);
    assert.equal(s.info(leaf.fingerprint)?.stapled, false);
  });

  test('a certificate that left the table loses its response at the next sweep', async () => {
    now = Date.now();
    const inForce = new Set([leaf.fingerprint]);
    const s = stapler(async () => response, inForce);
    ask(s);
    await waitFor(() => s.info(leaf.fingerprint)?.stapled);
    s.sweep();
    assert.ok(s.info(leaf.fingerprint) !== null, 'kept while served');
    inForce.clear();
    s.sweep();
    assert.equal(s.info(leaf.fingerprint), null);
  });

  test('refreshed half way through its validity; a failing responder is retried with doubling backoff while the current response goes on being stapled, then it expires', async () => {
    now = Date.now();
    let fail = false;
    let fetches = 0;
    const timers = new ManualTimers();
    const s = stapler(async () => {
      fetches++;
      if (fail) throw new OcspError('OCSP_HTTP', 'connect ECONNREFUSED');
      return response;
    }, new Set([leaf.fingerprint]), timers);
    ask(s);
    await waitFor(() => s.info(leaf.fingerprint)?.stapled);
    assert.ok(Math.abs(timers.scheduled[0]!.ms - DAY / 2) < 120_000, `next refresh in ${timers.scheduled[0]!.ms} ms`);
    fail = true;
    const delays: number[] = [];
    for (let i = 1; i <= 4; i++) {
      timers.fire();
      await waitFor(() => s.failures === i);
      await waitFor(() => timers.scheduled.length === 1);
      assert.deepEqual(ask(s), response, 'still current: still stapled');
      delays.push(timers.scheduled[0]!.ms);
    }
    assert.deepEqual(delays, [5_000, 10_000, 20_000, 40_000]);
    assert.equal(s.info(leaf.fingerprint)?.state, 'failed');
    assert.match(s.info(leaf.fingerprint)!.error!, /^OCSP_HTTP/);
    now += DAY; // past nextUpdate, the responder still down
    assert.equal(ask(s), undefined);
    assert.equal(fetches, 5);
  });

  test('an answer that does not pass the checks is a failure, shown with its code', async () => {
    now = Date.now();
    const broken = stapler(async () => Buffer.from('nope'), new Set([leaf.fingerprint]), new ManualTimers());
    ask(broken);
    await waitFor(() => broken.info(leaf.fingerprint)?.state === 'failed');
    assert.match(broken.info(leaf.fingerprint)!.error!, /^OCSP_MALFORMED/);
    assert.equal(broken.failures, 1);
    assert.equal(ask(broken), undefined);
  });
});
