// SPEC §7, certificates from files, on real TLS handshakes with the proxy the
// CLI starts (two workers): `https.certDir` (a watched directory of PEM files,
// served for the names of their SANs) and a vhost's `tls: { cert, key }`.
// Every certificate is made by the test CA and checked by its SHA-256
// fingerprint, so "the default certificate" is never mistaken for another.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { makeCa, makeLeaf, opensslDate, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { switchyard as runCommand } from '../helpers/cli.js';
import { request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { runCli } from '../helpers/processes.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const WORKERS = 2;

interface Handshake {
  fingerprint: string;
  /** The chain verifies against the test CA. */
  authorized: boolean;
  peer: PeerCertificate;
}

/** One TLS handshake to 127.0.0.1:port, sending `servername` as SNI (none when undefined). */
function handshake(port: number, ca: TestCa, servername?: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: [ca.cert], rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      resolve({ fingerprint: peer.fingerprint256, authorized: socket.authorized, peer });
      socket.end();
    });
  });
}

/** Writes `text` under a hidden name, then renames it to `name`: a save that is never seen half-written. */
function save(dir: string, name: string, text: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

interface Instance {
  proxy: Switchyard;
  httpsPort: number;
  certDir: string;
  vhosts: string;
  /** Where the vhosts' certificate files are (beside the vhosts file). */
  vhostsDir: string;
  /** SHA-256 fingerprints of several handshakes for `servername` (spread over the workers). */
  served(servername?: string): Promise<string[]>;
  /** Waits until every handshake for `servername` gets `cert`, then checks it verifies for that name. */
  serves(servername: string, cert: TestCertificate, message?: string): Promise<void>;
  source(name: string): Promise<Record<string, any>>;
}

const ca = makeCa();
const defaultCert = makeLeaf(ca, { names: ['default.test'] });

async function startInstance(setup: (certDir: string, vhostsDir: string) => string): Promise<Instance> {
  const root = tempDir('tls-files');
  const certDir = join(root, 'certs');
  const vhostsDir = join(root, 'vhosts');
  mkdirSync(certDir);
  mkdirSync(vhostsDir);
  writeFileSync(join(root, 'default.pem'), defaultCert.chain);
  writeFileSync(join(root, 'default.key'), defaultCert.key);
  const vhosts = join(vhostsDir, 'vhosts.yaml');
  writeFileSync(vhosts, setup(certDir, vhostsDir));
  const [httpsPort, adminPort] = [await freePort(), await freePort()];
  const proxy = await startSwitchyard({
    server: { workers: WORKERS },
    http: { bind: ['127.0.0.1'] },
    https: { port: httpsPort, bind: ['127.0.0.1'], cert: join(root, 'default.pem'), key: join(root, 'default.key'), certDir },
    // No periodic re-read of the vhosts: a certificate file's change must be seen by its directory's watch.
    file: { path: vhosts, pollInterval: 3600 },
    admin: { port: adminPort },
  });
  const status = async () => {
    const res = await request({ port: adminPort, host: '127.0.0.1', path: '/status' });
    assert.equal(res.status, 200, res.text);
    return JSON.parse(res.text) as { loaded: boolean; workers: unknown[]; sources: Record<string, any>[] };
  };
  await waitFor(async () => {
    const s = await status();
    return s.loaded && s.workers.length === WORKERS;
  }, { timeoutMs: 15_000, message: 'every worker answering the admin API' });
  const served = (servername?: string) => Promise.all([1, 2, 3, 4].map(async () => (await handshake(httpsPort, ca, servername)).fingerprint));
  return {
    proxy,
    httpsPort,
    certDir,
    vhosts,
    vhostsDir,
    served,
    async serves(servername, cert, message) {
      await waitFor(async () => (await served(servername)).every((f) => f === cert.fingerprint), { message: message ?? `${servername} served its certificate` });
      const one = await handshake(httpsPort, ca, servername);
      assert.ok(one.authorized, 'the chain verifies against the test CA');
      assert.equal(tls.checkServerIdentity(servername, one.peer), undefined, `the certificate is valid for ${servername}`);
    },
    source: async (name) => (await status()).sources.find((s) => s.name === name)!,
  };
}

/** The lines of the proxy's log naming `file` (each worker reads it, so each says it once). */
const linesNaming = (proxy: Switchyard, file: string): string[] => proxy.logs().split('\n').filter((l) => l.includes(file));

describe('https.certDir', () => {
  let it: Instance;
  const site = makeLeaf(ca, { names: ['site.test', 'www.site.test'] });
  const wildcard = makeLeaf(ca, { names: ['*.wild.test'] });
  const sub = makeLeaf(ca, { names: ['sub.test'] });
  const hidden = makeLeaf(ca, { names: ['hidden.test'] });

  before(async () => {
    it = await startInstance((certDir) => {
      writeFileSync(join(certDir, 'site.pem'), site.pem);
      writeFileSync(join(certDir, 'wild.pem'), wildcard.pem);
      writeFileSync(join(certDir, 'broken-at-start.pem'), `-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n${site.key}`);
      writeFileSync(join(certDir, 'README.txt'), 'certificates for the proxy\n');
      writeFileSync(join(certDir, '.hidden.pem'), hidden.pem);
      writeFileSync(join(certDir, 'site.pem~'), hidden.pem);
      mkdirSync(join(certDir, 'sub'));
      writeFileSync(join(certDir, 'sub', 'sub.pem'), sub.pem);
      return 'vhosts: {}\n';
    });
  });

  test('a file is served for every DNS name of its SANs; another name gets the default certificate', async () => {
    await it.serves('site.test', site);
    await it.serves('www.site.test', site);
    assert.deepEqual(await it.served('other.test'), Array(4).fill(defaultCert.fingerprint));
  });

  test('a wildcard file covers one label, not the bare domain nor two labels', async () => {
    await it.serves('x.wild.test', wildcard);
    await it.serves('y.wild.test', wildcard);
    assert.deepEqual(await it.served('wild.test'), Array(4).fill(defaultCert.fingerprint));
    assert.deepEqual(await it.served('a.b.wild.test'), Array(4).fill(defaultCert.fingerprint));
  });

  test('hidden files, backups, files with no PEM block and subdirectories are skipped; a bad file at start-up is quarantined', async () => {
    assert.deepEqual(await it.served('hidden.test'), Array(4).fill(defaultCert.fingerprint), '.hidden.pem and site.pem~ are not served');
    assert.deepEqual(await it.served('sub.test'), Array(4).fill(defaultCert.fingerprint), 'sub/ is not descended');
    const status = await it.source('certdir');
    assert.deepEqual(status.skipped, ['README.txt: no PEM block', 'site.pem~: a backup or temporary file']);
    assert.deepEqual(
      status.quarantinedCertificates.map((q: Record<string, unknown>) => [q.key, q.serving]),
      [['broken-at-start.pem', 'none']],
    );
    assert.match(status.quarantinedCertificates[0].reason, /^unparsable certificate/);
    assert.equal(status.state, 'degraded');
  });

  test('a file added while running is served, then replaced by a rename, then removed: the default again', async () => {
    const first = makeLeaf(ca, { names: ['added.test'] });
    writeFileSync(join(it.certDir, 'added.pem'), first.pem);
    await it.serves('added.test', first, 'the added file served');
    const renewed = makeLeaf(ca, { names: ['added.test'] });
    // As editors and certbot-like tools save: a new file renamed over the old one.
    writeFileSync(join(it.certDir, 'added.pem.new'), renewed.pem);
    renameSync(join(it.certDir, 'added.pem.new'), join(it.certDir, 'added.pem'));
    await it.serves('added.test', renewed, 'the renamed-over file served');
    unlinkSync(join(it.certDir, 'added.pem'));
    await waitFor(async () => (await it.served('added.test')).every((f) => f === defaultCert.fingerprint), { message: 'the default served once the file is gone' });
  });

  test('a Kubernetes secret (tls.crt and tls.key through ..data) swapped by a symlink flip serves the new pair', async () => {
    const v1 = makeLeaf(ca, { names: ['k8s.test'] });
    const v2 = makeLeaf(ca, { names: ['k8s.test'] });
    const version = (stamp: string, cert: TestCertificate) => {
      mkdirSync(join(it.certDir, `..${stamp}`));
      writeFileSync(join(it.certDir, `..${stamp}`, 'tls.crt'), cert.chain);
      writeFileSync(join(it.certDir, `..${stamp}`, 'tls.key'), cert.key);
      symlinkSync(`..${stamp}`, join(it.certDir, '..data_tmp'));
      renameSync(join(it.certDir, '..data_tmp'), join(it.certDir, '..data')); // the atomic flip
    };
    version('v1', v1);
    symlinkSync(join('..data', 'tls.crt'), join(it.certDir, 'tls.crt'));
    symlinkSync(join('..data', 'tls.key'), join(it.certDir, 'tls.key'));
    await it.serves('k8s.test', v1, 'the secret served');
    version('v2', v2);
    rmSync(join(it.certDir, '..v1'), { recursive: true });
    await it.serves('k8s.test', v2, 'the flipped secret served');
    const status = await it.source('certdir');
    assert.ok(!status.quarantinedCertificates.some((q: { key: string }) => q.key.startsWith('tls.')), 'the key file is the chain\'s, not a certificate of its own');
  });

  test('each kind of bad file is quarantined with one log line per worker, the last good certificate from it still served; fixed, it is cleared', async () => {
    const expired = makeLeaf(ca, { names: ['bad.test'], notBefore: opensslDate(Date.now() - 3 * 86_400_000), notAfter: opensslDate(Date.now() - 86_400_000) });
    const other = makeLeaf(ca, { names: ['bad.test'] });
    const noSan = makeLeaf(ca, { names: [] });
    const kinds: Array<[string, string, RegExp]> = [
      ['unparsable', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' + other.key, /unparsable certificate/],
      ['key mismatch', other.chain + noSan.key, /the private key does not match the certificate/],
      ['expired', expired.pem, /expired on/],
      ['no DNS SAN', noSan.pem, /names no DNS name/],
    ];
    for (const [kind, text, reason] of kinds) {
      const name = `bad-${kind.replace(/ /g, '-')}.pem`;
      const file = join(it.certDir, name);
      const good = makeLeaf(ca, { names: [`${kind.replace(/ /g, '-')}.bad.test`] });
      const host = `${kind.replace(/ /g, '-')}.bad.test`;
      save(it.certDir, name, good.pem);
      await it.serves(host, good, `${kind}: the good version served`);
      save(it.certDir, name, text);
      await waitFor(async () => (await it.source('certdir')).quarantinedCertificates.some((q: { key: string }) => q.key === name), { message: `${kind}: quarantined` });
      const entry = (await it.source('certdir')).quarantinedCertificates.find((q: { key: string }) => q.key === name);
      assert.equal(entry.serving, 'previous', kind);
      assert.match(entry.reason, reason, kind);
      await waitFor(() => linesNaming(it.proxy, file).length === WORKERS, { message: `${kind}: logged by each worker` });
      const [line] = linesNaming(it.proxy, file);
      assert.match(line!, /certificate quarantined; the last good one stays served/, kind);
      assert.match(line!, reason, `${kind}: the log line gives the reason`);
      assert.deepEqual(await it.served(host), Array(4).fill(good.fingerprint), `${kind}: the last good certificate is still served`);
      // Another change to the directory reads this file again: it is not logged again.
      const touch = makeLeaf(ca, { names: [`touch-${name}.test`] });
      save(it.certDir, `touch-${name}`, touch.pem);
      await it.serves(`touch-${name}.test`, touch);
      assert.equal(linesNaming(it.proxy, file).length, WORKERS, `${kind}: logged once per worker`);
      save(it.certDir, name, good.pem);
      await waitFor(async () => !(await it.source('certdir')).quarantinedCertificates.some((q: { key: string }) => q.key === name), { message: `${kind}: cleared once fixed` });
    }
    assert.doesNotMatch(it.proxy.logs(), /-----BEGIN|[A-Za-z0-9+/]{60}/, 'no PEM text in the log');
  });

  test('a certDir that does not exist stops start-up with its JSON path', () => {
    const dir = tempDir('no-certdir');
    const config = join(dir, 'config.json');
    writeFileSync(join(dir, 'c.pem'), defaultCert.chain);
    writeFileSync(join(dir, 'k.pem'), defaultCert.key);
    writeFileSync(config, JSON.stringify({ https: { port: 1, bind: ['127.0.0.1'], cert: 'c.pem', key: 'k.pem', certDir: 'missing' }, http: { bind: [] } }));
    const result = runCli(['--config', config]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /\/https\/certDir/);
    assert.match(result.stderr, /missing/);
  });
});

describe('vhosts tls:', () => {
  let it: Instance;
  let backend: Backend;
  const app = makeLeaf(ca, { names: ['app.test'] });
  const star = makeLeaf(ca, { names: ['*.star.test'] });
  const vhostsWith = (hosts: Record<string, { cert: string; key: string } | null>, backendUrl: string) =>
    `vhosts:\n${Object.entries(hosts)
      .map(([host, files]) => `  "${host}":\n    backends: [${backendUrl}]\n${files === null ? '' : `    tls: { cert: ${files.cert}, key: ${files.key} }\n`}`)
      .join('')}`;

  before(async () => {
    backend = await startHttpBackend({ name: 'app' });
    it = await startInstance((_certDir, vhostsDir) => {
      mkdirSync(join(vhostsDir, 'tls'));
      writeFileSync(join(vhostsDir, 'tls', 'app.crt'), app.chain);
      writeFileSync(join(vhostsDir, 'tls', 'app.key'), app.key);
      writeFileSync(join(vhostsDir, 'star.pem'), star.pem);
      return vhostsWith({ 'app.test': { cert: 'tls/app.crt', key: 'tls/app.key' }, '*.star.test': { cert: 'star.pem', key: 'star.pem' } }, backend.url);
    });
  });

  test('a host\'s certificate (paths relative to the vhosts file) is served for it, and HTTPS requests to it verify and are routed', async () => {
    await it.serves('app.test', app);
    await it.serves('x.star.test', star, 'a wildcard host\'s certificate');
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: it.httpsPort, servername: 'app.test', headers: { host: 'app.test' }, ca: [ca.cert], agent: false }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200, res.body);
    assert.equal((JSON.parse(res.body) as { name: string }).name, 'app');
  });

  test('SNI without a match, or no SNI at all, gets the default https.cert', async () => {
    assert.notEqual(app.fingerprint, defaultCert.fingerprint);
    assert.deepEqual(await it.served('app.test'), Array(4).fill(app.fingerprint), 'a name with a certificate gets it');
    assert.deepEqual(await it.served('nomatch.test'), Array(4).fill(defaultCert.fingerprint));
    assert.deepEqual(await it.served(undefined), Array(4).fill(defaultCert.fingerprint));
  });

  test('the certificate files rewritten while running: the new certificate is served, the vhosts file untouched', async () => {
    const renewed = makeLeaf(ca, { names: ['app.test'] });
    // cert-manager and certbot write the pair one after the other.
    save(join(it.vhostsDir, 'tls'), 'app.crt', renewed.chain);
    save(join(it.vhostsDir, 'tls'), 'app.key', renewed.key);
    await it.serves('app.test', renewed, 'the renewed certificate served');
  });

  test('the vhosts file changed while running: another file for a host, a host gaining tls, a host losing it', async () => {
    const moved = makeLeaf(ca, { names: ['app.test'] });
    const fresh = makeLeaf(ca, { names: ['fresh.test'] });
    writeFileSync(join(it.vhostsDir, 'moved.pem'), moved.pem);
    writeFileSync(join(it.vhostsDir, 'fresh.pem'), fresh.pem);
    save(it.vhostsDir, 'vhosts.yaml', vhostsWith({ 'app.test': { cert: 'moved.pem', key: 'moved.pem' }, 'fresh.test': { cert: 'fresh.pem', key: 'fresh.pem' }, '*.star.test': null }, backend.url));
    await it.serves('app.test', moved, 'app.test served from its new file');
    await it.serves('fresh.test', fresh, 'a host gaining tls');
    await waitFor(async () => (await it.served('x.star.test')).every((f) => f === defaultCert.fingerprint), { message: '*.star.test lost its certificate' });
  });

  test('a bad certificate is quarantined: logged, listed in the status, the last good one still served', async () => {
    const good = makeLeaf(ca, { names: ['q.test'] });
    const wrongName = makeLeaf(ca, { names: ['not-q.test'] });
    save(it.vhostsDir, 'q.pem', good.pem);
    save(it.vhostsDir, 'vhosts.yaml', vhostsWith({ 'q.test': { cert: 'q.pem', key: 'q.pem' }, 'gone.test': null }, backend.url));
    await it.serves('q.test', good);
    save(it.vhostsDir, 'q.pem', wrongName.pem);
    const file = join(it.vhostsDir, 'q.pem');
    await waitFor(() => linesNaming(it.proxy, file).some((l) => l.includes('certificate quarantined')), { message: 'the bad certificate logged' });
    assert.match(linesNaming(it.proxy, file).find((l) => l.includes('certificate quarantined'))!, /key=q\.test .*reason="does not cover q\.test \(it names not-q\.test\)"/);
    const status = await it.source('file');
    assert.deepEqual(status.quarantinedCertificates, [{ key: 'q.test', reason: 'does not cover q.test (it names not-q.test)', serving: 'previous' }]);
    assert.deepEqual(await it.served('q.test'), Array(4).fill(good.fingerprint), 'the last good certificate is still served');
    // A file that disappears is quarantined the same way.
    save(it.vhostsDir, 'vhosts.yaml', vhostsWith({ 'q.test': { cert: 'missing.pem', key: 'missing.pem' } }, backend.url));
    await waitFor(async () => /cannot read .*missing\.pem: no such file/.test((await it.source('file')).quarantinedCertificates[0]?.reason ?? ''), { message: 'a missing file quarantined' });
    assert.deepEqual(await it.served('q.test'), Array(4).fill(good.fingerprint));
    save(it.vhostsDir, 'vhosts.yaml', vhostsWith({ 'q.test': { cert: 'q2.pem', key: 'q2.pem' } }, backend.url));
    const fixed = makeLeaf(ca, { names: ['q.test'] });
    save(it.vhostsDir, 'q2.pem', fixed.pem);
    await it.serves('q.test', fixed, 'fixed');
    await waitFor(async () => (await it.source('file')).quarantinedCertificates.length === 0, { message: 'the quarantine cleared' });
  });

  test('switchyard validate reports a missing or bad certificate file at its tls entry', async () => {
    const dir = tempDir('validate-tls');
    const expired = makeLeaf(ca, { names: ['old.test'], notBefore: opensslDate(Date.now() - 3 * 86_400_000), notAfter: opensslDate(Date.now() - 86_400_000) });
    writeFileSync(join(dir, 'old.pem'), expired.pem);
    writeFileSync(join(dir, 'ok.pem'), app.pem);
    const file = join(dir, 'vhosts.yaml');
    writeFileSync(
      file,
      vhostsWith({ 'app.test': { cert: 'ok.pem', key: 'ok.pem' }, 'old.test': { cert: 'old.pem', key: 'old.pem' }, 'none.test': { cert: 'none.crt', key: 'none.key' } }, 'http://127.0.0.1:1'),
    );
    const bad = await runCommand(['validate', file]);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stdout, new RegExp(`${file}:7:10: /vhosts/old.test/tls: certificate ${join(dir, 'old.pem')}: expired on `));
    assert.match(bad.stdout, new RegExp(`${file}:10:10: /vhosts/none.test/tls: cannot read ${join(dir, 'none.crt')}: no such file`));
    assert.match(bad.stdout, /invalid: 2 problems/);
    writeFileSync(file, vhostsWith({ 'app.test': { cert: 'ok.pem', key: 'ok.pem' } }, 'http://127.0.0.1:1'));
    const good = await runCommand(['validate', file]);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /^ok: 1 host in 1 file/);
  });
});
