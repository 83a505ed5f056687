// OCSP stapling (SPEC §7) against a real responder (`openssl ocsp` over the
// test CA's database): a client asking for the certificate's status gets
// the responder's signed answer once the proxy fetched it in the
// background; a revoked certificate, or one naming no responder, gets no
// staple; a responder that is down or hung never slows a handshake.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend } from '../helpers/backends.js';
import { makeCa, makeLeaf, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { ocspExtension, readStaple, revoke, startOcspResponder, startSilentResponder, type OcspResponder } from '../helpers/ocsp.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { delay, waitFor } from '../helpers/wait.js';

interface Handshake {
  /** What the server stapled; null: nothing. */
  staple: Buffer | null;
  ms: number;
}

function handshake(port: number, ca: TestCa, servername: string, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let staple: Buffer | null = null;
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.cert, requestOCSP: true, ...options });
    socket.on('OCSPResponse', (response: Buffer) => (staple = response));
    socket.once('secureConnect', () => {
      resolve({ staple, ms: performance.now() - started });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('OCSP stapling', () => {
  let ca: TestCa;
  let responder: OcspResponder;
  let silent: { url: string; connections(): number };
  let refusedUrl: string;
  let proxy: FileInstance;
  let httpsPort: number;
  const leaves: Record<string, TestCertificate> = {};

  /** The admin status's stapling state of the certificate serving `name`. */
  const stapling = async (name: string): Promise<Record<string, any> | null> => {
    const status = await proxy.status();
    const cert = (status.certificates as Record<string, any>[]).find((c) => c.names.includes(name));
    assert.ok(cert, `${name} is in the status`);
    return cert.ocsp ?? null;
  };

  before(async () => {
    ca = makeCa();
    const responderPort = await freePort();
    const responderUrl = `http://127.0.0.1:${responderPort}`;
    silent = await startSilentResponder();
    refusedUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const withResponder = (url: string) => ({ extensions: [ocspExtension(url)] });
    leaves['good.test'] = makeLeaf(ca, { names: ['good.test'], ...withResponder(responderUrl) });
    leaves['tls12.test'] = makeLeaf(ca, { names: ['tls12.test'], keyType: 'rsa', ...withResponder(responderUrl) });
    leaves['revoked.test'] = makeLeaf(ca, { names: ['revoked.test'], ...withResponder(responderUrl) });
    leaves['plain.test'] = makeLeaf(ca, { names: ['plain.test'] });
    leaves['hung.test'] = makeLeaf(ca, { names: ['hung.test'], ...withResponder(silent.url) });
    leaves['refused.test'] = makeLeaf(ca, { names: ['refused.test'], ...withResponder(refusedUrl) });
    const fallback = makeLeaf(ca, { names: ['default.test'], ...withResponder(responderUrl) });
    leaves['default.test'] = fallback;
    revoke(ca, leaves['revoked.test']);
    responder = await startOcspResponder(ca, responderPort);
    const backend = await startHttpBackend({ name: 'ocsp-backend' });
    const dir = tempDir('tls-ocsp');
    const lines = ['vhosts:'];
    for (const [name, leaf] of Object.entries(leaves)) {
      if (name === 'default.test') continue;
      writeFileSync(join(dir, `${name}.chain.pem`), leaf.chain);
      writeFileSync(join(dir, `${name}.key.pem`), leaf.key);
      lines.push(`  ${name}:`, `    backends: ["${backend.url}"]`, `    tls: { cert: ${join(dir, `${name}.chain.pem`)}, key: ${join(dir, `${name}.key.pem`)} }`);
    }
    writeFileSync(join(dir, 'default.chain.pem'), fallback.chain);
    writeFileSync(join(dir, 'default.key.pem'), fallback.key);
    httpsPort = await freePort();
    proxy = await startFileInstance(lines.join('\n') + '\n', {
      extra: { https: { port: httpsPort, bind: ['127.0.0.1'], cert: join(dir, 'default.chain.pem'), key: join(dir, 'default.key.pem') } },
    });
  });

  test('a client asking for the status gets, once the proxy fetched it, a staple the responder signed saying good (TLS 1.3 and 1.2)', async () => {
    for (const [name, options] of [['good.test', {}], ['tls12.test', { maxVersion: 'TLSv1.2' }]] as const) {
      const leaf = leaves[name]!;
      // The first handshake may find nothing cached: it starts the fetch and is not kept waiting.
      const stapled = await waitFor(async () => (await handshake(httpsPort, ca, name, options)).staple, { timeoutMs: 10_000, message: `a staple for ${name}` });
      const read = readStaple(ca, leaf, stapled);
      assert.ok(read.verified, `the staple verifies against the CA:\n${read.text}`);
      assert.match(read.text, /: good/, read.text);
      assert.match(read.text, /Next Update:/, 'the responder gave a nextUpdate, the cache honours it');
      const state = await stapling(name);
      assert.equal(state?.state, 'good');
      assert.equal(state?.stapled, true);
      assert.equal(state?.responder, responder.url);
    }
  });

  test('the default certificate (https.cert, no SNI match) is stapled too', async () => {
    const stapled = await waitFor(async () => (await handshake(httpsPort, ca, 'no-such-host.test', { checkServerIdentity: () => undefined })).staple, { timeoutMs: 10_000, message: 'a staple for the default certificate' });
    const read = readStaple(ca, leaves['default.test']!, stapled);
    assert.ok(read.verified && /: good/.test(read.text), read.text);
    assert.equal((await stapling('default.test'))?.state, 'good');
  });

  test('the staple is served from the cache: more handshakes do not ask the responder again', async () => {
    await waitFor(async () => (await handshake(httpsPort, ca, 'good.test')).staple, { timeoutMs: 10_000, message: 'a staple' });
    const asked = responder.requests();
    for (let i = 0; i < 10; i++) assert.ok((await handshake(httpsPort, ca, 'good.test')).staple !== null);
    assert.equal(responder.requests(), asked);
  });

  test('a revoked certificate gets no staple, though the proxy asked the responder', async () => {
    await handshake(httpsPort, ca, 'revoked.test');
    await waitFor(async () => (await stapling('revoked.test'))?.state === 'revoked', { timeoutMs: 10_000, message: 'the responder saying revoked' });
    const after = await handshake(httpsPort, ca, 'revoked.test');
    assert.equal(after.staple, null);
    assert.equal((await stapling('revoked.test'))?.stapled, false);
  });

  test('a certificate naming no responder gets no staple and nothing is fetched for it', async () => {
    const asked = responder.requests();
    assert.equal((await handshake(httpsPort, ca, 'plain.test')).staple, null);
    const state = await waitFor(() => stapling('plain.test'), { message: 'the stapler having looked at plain.test' });
    assert.equal(state.state, 'none');
    assert.equal(state.responder, null);
    assert.equal((await handshake(httpsPort, ca, 'plain.test')).staple, null);
    await delay(300);
    assert.equal(responder.requests(), asked);
  });

  test('a hung or refusing responder does not slow handshakes; the failure is logged once per certificate and counted', async () => {
    const first = await handshake(httpsPort, ca, 'hung.test');
    assert.equal(first.staple, null);
    await waitFor(() => silent.connections() > 0, { message: 'the proxy asking the hung responder' });
    // The fetch is hanging now (5 s timeout): handshakes go on at loopback speed.
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const h = await handshake(httpsPort, ca, 'hung.test');
      assert.equal(h.staple, null);
      times.push(h.ms);
    }
    assert.ok(Math.max(...times) < 1000, `handshakes while the responder hangs: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    await handshake(httpsPort, ca, 'refused.test');
    const hung = await waitFor(async () => {
      const s = await stapling('hung.test');
      return s?.state === 'failed' ? s : null;
    }, { timeoutMs: 10_000, message: 'the hung fetch timing out' });
    assert.match(hung.error, /OCSP_TIMEOUT/);
    // The refusing responder is retried with backoff (5 s after the first failure): two failures, one log line.
    await waitFor(async () => {
      const metrics = (await proxy.get('/metrics')).text;
      const failed = /switchyard_ocsp_fetches_total\{result="failed"\} (\d+)/.exec(metrics);
      return failed !== null && Number(failed[1]) >= 3;
    }, { timeoutMs: 15_000, message: 'failed fetches counted (hung once, refused twice)' });
    const state = await stapling('refused.test');
    assert.equal(state?.state, 'failed');
    assert.match(state?.error, /OCSP_HTTP: connect ECONNREFUSED/);
    const logged = (fingerprint: string) => proxy.proxy.logs().split('\n').filter((l) => l.includes('OCSP fetch failed') && l.includes(fingerprint));
    assert.equal(logged(leaves['refused.test']!.fingerprint).length, 1, proxy.proxy.logs());
    assert.equal(logged(leaves['hung.test']!.fingerprint).length, 1);
    const h = await handshake(httpsPort, ca, 'refused.test');
    assert.ok(h.ms < 1000 && h.staple === null);
  });
});
