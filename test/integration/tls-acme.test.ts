// SPEC §7, ACME: certificates ordered from a real ACME server (pebble, with
// pebble-challtestsrv as its DNS: every test name resolves to 127.0.0.1) for
// the exact hosts of the table that have none, HTTP-01 validated for real on
// the proxy's HTTP listener. Never for a host that is not configured; a
// failed order backs off, logged and counted. With Redis, two instances:
// one order (the lock), both serve the certificate, which is in `tls:<host>`.
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { request } from '../helpers/http.js';
import { scrape, total } from '../helpers/metrics.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePort } from '../helpers/ports.js';
import { countLog, waitForLog } from '../helpers/redis-proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { delay, waitFor } from '../helpers/wait.js';

const ORDERED = 'switchyard_acme_orders_total';

interface Served {
  authorized: boolean;
  error: string | null;
  fingerprint: string;
  subject: string;
}

/** A handshake with SNI `servername`, the chain verified against pebble's issuing root. */
function handshake(port: number, root: string, servername: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: [root], rejectUnauthorized: false });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', reject);
    socket.on('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      resolve({ authorized: socket.authorized, error: socket.authorizationError === undefined ? null : String(socket.authorizationError), fingerprint: peer.fingerprint256, subject: peer.subject?.CN ?? '' });
      socket.destroy();
    });
  });
}

/** Waits until `servername` is served a certificate that verifies against pebble's root. */
async function waitForIssued(port: number, root: string, servername: string, sy: Switchyard): Promise<Served> {
  return waitFor(
    async () => {
      const served = await handshake(port, root, servername);
      return served.authorized ? served : null;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: `a certificate from pebble for ${servername}; logs:\n${sy.logs()}` },
  );
}

async function orders(adminPort: number, outcome: string): Promise<number> {
  return total((await scrape(adminPort)).samples, ORDERED, { outcome });
}

interface Instance {
  proxy: Switchyard;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
}

async function startInstance(httpPort: number, pebble: Pebble, source: Record<string, unknown>, storage: string | null): Promise<Instance> {
  const fallback = selfSignedCert();
  const [httpsPort, adminPort] = [await freePort(), await freePort()];
  const proxy = await startSwitchyard({
    server: { workers: 2, staticDir: null },
    http: { port: httpPort, bind: ['127.0.0.1'] },
    https: {
      port: httpsPort,
      bind: ['127.0.0.1'],
      key: fallback.key,
      cert: fallback.cert,
      acme: { directory: pebble.directory, email: 'ops@acme.test', ca: pebble.caPath, checkInterval: 0.5, retryAfter: 2, ...(storage === null ? {} : { storage }) },
    },
    admin: { port: adminPort },
    ...source,
  });
  return { proxy, httpPort, httpsPort, adminPort };
}

describe('ACME without Redis: certificates kept in the storage directory', () => {
  let pebble: Pebble;
  let backend: Backend;
  let it: Instance;
  let root: string;
  let storage: string;
  let vhosts: string;
  const vhostsText = (hosts: string[]) => `vhosts:\n${hosts.map((h) => `  ${h}:\n    backends: [${backend.url}]\n`).join('')}`;

  before(async () => {
    const httpPort = await freePort();
    pebble = await startPebble({ httpPort });
    root = await pebble.root();
    backend = await startHttpBackend();
    const dir = tempDir('acme');
    storage = join(dir, 'acme');
    vhosts = join(dir, 'vhosts.yaml');
    writeFileSync(vhosts, vhostsText(['shop.acme.test', '"*.wild.acme.test"']));
    it = await startInstance(httpPort, pebble, { file: { path: vhosts } }, storage);
  });

  test('a configured host without a certificate gets one from the CA, served over HTTPS', async () => {
    const served = await waitForIssued(it.httpsPort, root, 'shop.acme.test', it.proxy);
    assert.equal(served.authorized, true, served.error ?? '');
    assert.ok(existsSync(join(storage, 'certs', 'shop.acme.test.pem')), 'kept in the storage directory');
    assert.ok(existsSync(join(storage, 'account.pem')), 'the account key kept');
    const res = await new Promise<number>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: it.httpsPort, servername: 'shop.acme.test', ca: [root] }, () => {
        socket.write('GET / HTTP/1.1\r\nHost: shop.acme.test\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(Number(text.split(' ')[1])));
      socket.on('error', reject);
    });
    assert.equal(res, 200, 'the backend answers over the verified connection');
    await waitForLog(it.proxy, /ACME certificate issued.*host=shop\.acme\.test/);
    assert.equal(await orders(it.adminPort, 'issued'), 1);
  });

  test('a name that is not configured (SNI or Host) never gets an order, nor does a wildcard pattern', async () => {
    await waitForIssued(it.httpsPort, root, 'shop.acme.test', it.proxy);
    const before = (await orders(it.adminPort, 'issued')) + (await orders(it.adminPort, 'failed'));
    for (const name of ['stranger.acme.test', 'x.wild.acme.test']) {
      const served = await handshake(it.httpsPort, root, name);
      assert.equal(served.authorized, false, `${name} gets the default certificate`);
      await request({ port: it.httpPort, host: name, path: '/' });
    }
    const unknown = await request({ port: it.httpPort, host: 'stranger.acme.test', path: '/.well-known/acme-challenge/abcDEF_123' });
    assert.equal(unknown.status, 400, 'a token the proxy does not hold, for an unknown host: routed as usual');
    await delay(2500); // five checks
    assert.equal((await orders(it.adminPort, 'issued')) + (await orders(it.adminPort, 'failed')), before);
    assert.equal(countLog(it.proxy, 'stranger.acme.test'), 0, 'no order for it logged');
    assert.equal(countLog(it.proxy, 'wild.acme.test'), 0);
  });

  test('a failing order (the CA cannot reach the host) backs off, logged and counted', async () => {
    await pebble.addA('bad.acme.test', '127.0.0.2'); // nothing listens there: the validation fails
    writeFileSync(vhosts, vhostsText(['shop.acme.test', '"*.wild.acme.test"', 'bad.acme.test']));
    await waitForLog(it.proxy, /ACME order failed.*host=bad\.acme\.test.*failures=1 retryInS=2/, 20_000);
    await waitForLog(it.proxy, /ACME order failed.*host=bad\.acme\.test.*failures=2 retryInS=4/, 20_000);
    const failed = await orders(it.adminPort, 'failed');
    assert.ok(failed >= 2, `counted: ${failed}`);
    const status = await request({ port: it.adminPort, host: '127.0.0.1', path: '/status' });
    const acme = (JSON.parse(status.text) as { acme: { directory: string; backoff: { host: string; failures: number }[] } }).acme;
    assert.equal(acme.directory, pebble.directory);
    assert.ok(acme.backoff.some((b) => b.host === 'bad.acme.test' && b.failures >= 2), 'the backoff shown in /status');
    assert.ok(!acme.backoff.some((b) => b.host === 'shop.acme.test'));
    // The next try is 4 s away: with a check every 0.5 s, nothing more within 3 s.
    const lines = countLog(it.proxy, 'ACME order failed');
    await delay(3000);
    assert.equal(countLog(it.proxy, 'ACME order failed'), lines, 'backed off');
  });
});

describe('ACME renewal', () => {
  test('a certificate this setup ordered is ordered again at two thirds of its lifetime, and the new one served', async () => {
    const httpPort = await freePort();
    const pebble = await startPebble({ httpPort, validitySeconds: 12 });
    const root = await pebble.root();
    const backend = await startHttpBackend();
    const vhosts = join(tempDir('acme-renew'), 'vhosts.yaml');
    writeFileSync(vhosts, `vhosts:\n  renew.acme.test:\n    backends: [${backend.url}]\n`);
    const it = await startInstance(httpPort, pebble, { file: { path: vhosts } }, null);
    const first = await waitForIssued(it.httpsPort, root, 'renew.acme.test', it.proxy);
    const second = await waitFor(
      async () => {
        const served = await handshake(it.httpsPort, root, 'renew.acme.test');
        return served.authorized && served.fingerprint !== first.fingerprint ? served : null;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: `a renewed certificate; logs:\n${it.proxy.logs()}` },
    );
    assert.equal(second.subject, 'renew.acme.test');
    await waitForLog(it.proxy, /ACME certificate issued.*host=renew\.acme\.test.*reason=renewal/);
    assert.ok((await orders(it.adminPort, 'issued')) >= 2);
    assert.equal(await orders(it.adminPort, 'failed'), 0);
  });
});

describe('ACME with Redis: two instances, one order', () => {
  let pebble: Pebble;
  let redis: RedisServer;
  let backend: Backend;
  let a: Instance;
  let b: Instance;
  let root: string;

  before(async () => {
    const httpPort = await freePort();
    // Pebble validates on instance A's port only: when B holds the lock and orders, A answers B's challenge from Redis.
    pebble = await startPebble({ httpPort });
    root = await pebble.root();
    redis = await startRedis();
    backend = await startHttpBackend();
    await redis.cmd('RPUSH', 'frontend:shared.acme.test', 'shared', backend.url);
    const source = { driver: [redis.url] };
    // A listens first: an order B made before A listened would fail its validation (nobody on the port pebble dials).
    a = await startInstance(httpPort, pebble, source, null);
    b = await startInstance(await freePort(), pebble, source, null);
  });

  test('exactly one instance orders; both serve the certificate, which is in tls:<host>', async (t) => {
    const servedA = await waitForIssued(a.httpsPort, root, 'shared.acme.test', a.proxy);
    const servedB = await waitForIssued(b.httpsPort, root, 'shared.acme.test', b.proxy);
    assert.equal(servedA.fingerprint, servedB.fingerprint, 'the same certificate on both');
    const stored = await redis.cmd('GET', 'tls:shared.acme.test');
    assert.match(stored, /-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN PRIVATE KEY-----/);
    assert.ok((await redis.cmd('HGET', 'acme:issued', 'shared.acme.test')).includes('notAfter'));
    assert.equal(await redis.cmd('EXISTS', 'acme:account'), '1');
    await delay(2000); // more checks on both: none orders again
    const issued = (await orders(a.adminPort, 'issued')) + (await orders(b.adminPort, 'issued'));
    assert.equal(issued, 1, 'one order for the host over both instances');
    const acmeLines = () => [a, b].map((it) => it.proxy.logs().split('\n').filter((l) => l.includes('[acme]')).join('\n')).join('\n---\n');
    assert.equal((await orders(a.adminPort, 'failed')) + (await orders(b.adminPort, 'failed')), 0, acmeLines());
    assert.equal(await redis.cmd('EXISTS', 'acme:lock:shared.acme.test'), '0', 'the lock released');
    const by = countLog(a.proxy, 'ACME certificate issued') === 1 ? 'A' : 'B';
    t.diagnostic(`ordered by instance ${by}${by === 'B' ? ' (A answered its challenge from Redis)' : ''}`);
  });

  test("another instance's challenge is answered from Redis, for its host only; a token nobody holds goes to the backend", async () => {
    const keyAuthorization = 'tok3n_From-B.thumbprint';
    await redis.cmd('SET', 'acme:challenge:tok3n_From-B', JSON.stringify({ host: 'shared.acme.test', keyAuthorization }), 'PX', 60_000);
    for (const it of [a, b]) {
      const res = await request({ port: it.httpPort, host: 'shared.acme.test', path: '/.well-known/acme-challenge/tok3n_From-B' });
      assert.equal(res.status, 200);
      assert.equal(res.text, keyAuthorization);
      assert.equal(backend.requests.length, 0, 'answered by the proxy itself');
    }
    await redis.cmd('RPUSH', 'frontend:other.acme.test', 'other', backend.url);
    const otherHost = await request({ port: a.httpPort, host: 'other.acme.test', path: '/.well-known/acme-challenge/tok3n_From-B' });
    assert.notEqual(otherHost.text, keyAuthorization, 'not for another host');
    const nobody = await request({ port: a.httpPort, host: 'shared.acme.test', path: '/.well-known/acme-challenge/n0body' });
    assert.equal(nobody.status, 200);
    assert.ok(backend.requests.some((r) => r.url === '/.well-known/acme-challenge/n0body'), "went to the backend (its own ACME client's token)");
  });
});
