// The HTTPS listener's own behaviour (SPEC §7): Mozilla's intermediate
// profile (no CBC suite, no client-initiated renegotiation), `https.ciphers`
// replacing it, session tickets that resume on every worker of an instance,
// and which front end serves a connection (the fast one for HTTP/1.1, node's
// for h2). Real handshakes against the CLI-started proxy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import tls from 'node:tls';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend } from '../helpers/backends.js';
import { shown, switchyard } from '../helpers/cli.js';
import { makeCa, makeLeaf, type TestCa } from '../helpers/certificates.js';
import { fastFrontOn, frontMeter } from '../helpers/front.js';
import { RawConnection } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { echoAnswer, startRawBackend } from '../helpers/raw-backend.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const CBC_SUITE = 'ECDHE-ECDSA-AES128-SHA256'; // in Node's default list, not in the intermediate profile
const GCM_SUITE = 'ECDHE-ECDSA-AES128-GCM-SHA256';

interface Instance {
  proxy: FileInstance;
  httpsPort: number;
}

/**
 * A proxy with an HTTPS listener whose default certificate (EC, for the
 * ECDSA suites) names `default.test`, and a vhost `sni.test` with its own
 * certificate (chosen by SNI, from a secure context of its own).
 */
async function startTlsInstance(ca: TestCa, backendUrl: string, https: Record<string, unknown> = {}, workers = 1): Promise<Instance> {
  const leaf = makeLeaf(ca, { names: ['default.test'] });
  const sni = makeLeaf(ca, { names: ['sni.test'] });
  const dir = tempDir('tls-listener');
  writeFileSync(join(dir, 'chain.pem'), leaf.chain);
  writeFileSync(join(dir, 'key.pem'), leaf.key);
  writeFileSync(join(dir, 'sni-chain.pem'), sni.chain);
  writeFileSync(join(dir, 'sni-key.pem'), sni.key);
  const httpsPort = await freePort();
  const vhosts = [
    'vhosts:',
    '  default.test:',
    `    backends: ["${backendUrl}"]`,
    '  sni.test:',
    `    backends: ["${backendUrl}"]`,
    `    tls: { cert: ${join(dir, 'sni-chain.pem')}, key: ${join(dir, 'sni-key.pem')} }`,
  ].join('\n');
  const proxy = await startFileInstance(vhosts + '\n', {
    workers,
    extra: { https: { port: httpsPort, bind: ['127.0.0.1'], cert: join(dir, 'chain.pem'), key: join(dir, 'key.pem'), ...https } },
  });
  return { proxy, httpsPort };
}

/** Handshakes with `options`; resolves the socket once secure, or the error that ended it. */
function handshake(port: number, ca: TestCa, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket | Error> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'default.test', ca: ca.cert, ...options });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', (err) => resolve(err));
    socket.once('close', () => resolve(new Error('closed during the handshake')));
  });
}

describe('the HTTPS listener', () => {
  let ca: TestCa;
  let backendUrl: string;
  let plain: Instance;

  before(async () => {
    ca = makeCa();
    backendUrl = (await startHttpBackend({ name: 'tls-backend' })).url;
    plain = await startTlsInstance(ca, backendUrl);
  });

  test('TLS 1.2 with an AEAD ECDHE suite is accepted; a CBC suite that Node offers by default is refused', async () => {
    const good = await handshake(plain.httpsPort, ca, { maxVersion: 'TLSv1.2', ciphers: GCM_SUITE });
    assert.ok(good instanceof tls.TLSSocket, String(good));
    assert.equal(good.getCipher().standardName, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    good.destroy();
    const cbc = await handshake(plain.httpsPort, ca, { maxVersion: 'TLSv1.2', ciphers: CBC_SUITE });
    assert.ok(cbc instanceof Error, 'a CBC-only client gets no connection');
  });

  test('TLS 1.3 is offered', async () => {
    const socket = await handshake(plain.httpsPort, ca);
    assert.ok(socket instanceof tls.TLSSocket, String(socket));
    assert.equal(socket.getProtocol(), 'TLSv1.3');
    socket.destroy();
  });

  test('a client-initiated renegotiation is refused (Node alone would allow three every ten minutes)', async () => {
    const socket = await handshake(plain.httpsPort, ca, { maxVersion: 'TLSv1.2' });
    assert.ok(socket instanceof tls.TLSSocket, String(socket));
    socket.on('error', () => {});
    const outcome = await new Promise<Error | null>((resolve) => {
      const renegotiated = socket.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ?? null));
      if (!renegotiated) resolve(new Error('renegotiate() refused locally'));
      socket.once('close', () => resolve(new Error('closed')));
    });
    assert.ok(outcome instanceof Error, 'the renegotiation did not complete');
    socket.destroy();
  });

  test('HTTP/1.1 over TLS: the fast front end serves a simple request, node:http the connection after an upload it hands over, and the backend gets the same bytes from both; a client offering h2 gets HTTP/2', async () => {
    const backend = await startRawBackend();
    const own = await startTlsInstance(ca, backend.url);
    const served = await frontMeter(own.proxy.adminPort);
    const get = 'GET /same?q=1 HTTP/1.1\r\nHost: default.test\r\nAccept: */*\r\nX-Mixed-Case: kept\r\n\r\n';
    for (const alpn of [['http/1.1'], undefined]) {
      const conn = await RawConnection.openTls(own.httpsPort, '127.0.0.1', alpn === undefined ? {} : { ALPNProtocols: alpn });
      try {
        conn.write(get);
        assert.equal((await conn.readResponse()).status, 200);
        // Chunked: node:http's to read, with the bytes the fast front end has read already.
        conn.write('PUT /up HTTP/1.1\r\nHost: default.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
        const up = JSON.parse((await conn.readResponse()).body.toString()) as { path: string; bodyLength: number };
        assert.deepEqual([up.path, up.bodyLength], ['/up', 5]);
        conn.write(get);
        assert.equal((await conn.readResponse()).status, 200);
        assert.equal(conn.isClosed, false);
      } finally {
        conn.close();
      }
    }
    // A client that offers h2 gets HTTP/2 (node's sessions): the fast front end never sees it.
    const session = http2.connect(`https://127.0.0.1:${own.httpsPort}`, { rejectUnauthorized: false, servername: 'default.test' });
    session.on('error', () => {});
    try {
      const stream = session.request({ ':path': '/h2', ':authority': 'default.test' });
      const [h2Head] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      stream.resume();
      await once(stream, 'end');
      assert.equal(h2Head[':status'], 200);
      assert.equal((session.socket as tls.TLSSocket).alpnProtocol, 'h2');
    } finally {
      session.close();
    }
    // Both ALPN-less and http/1.1 connections: a simple request each on the fast front end, then handed over.
    // (With the fast front end off on the HTTPS listener, these count nothing.)
    assert.deepEqual(await served(), fastFrontOn ? { fast: true, fastRequests: 2, handoffs: 2 } : { fast: false, fastRequests: 0, handoffs: 0 });
    const heads = backend.text().split('\r\n\r\n').filter((head) => head.startsWith('GET /same'));
    assert.equal(heads.length, 4);
    // Each request has an id of its own; everything else is byte for byte what node:http's request gave.
    const withoutId = (head: string) => head.replace(/\r\nX-Request-Id: [^\r]*/, '\r\nX-Request-Id: *');
    for (const head of heads) assert.equal(withoutId(head), withoutId(heads[1]!));
    assert.match(heads[0]!, new RegExp(`\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Protocol: https\r\nX-Forwarded-Port: ${own.httpsPort}\r\n`));
  });

  test('SIGTERM drains HTTP/1.1 over TLS: a request under way is answered, then its connection closed; an idle kept-alive one is closed; the worker does not wait for keepAliveTimeout', async () => {
    const backend = await startRawBackend((req, socket) => {
      if (req.path !== '/slow') return echoAnswer(req, socket);
      setTimeout(() => socket.write(echoAnswer(req, socket)!), 1500);
      return null;
    });
    const own = await startTlsInstance(ca, backend.url);
    const served = await frontMeter(own.proxy.adminPort);
    const idle = await RawConnection.openTls(own.httpsPort);
    const busy = await RawConnection.openTls(own.httpsPort);
    try {
      idle.write('GET /first HTTP/1.1\r\nHost: default.test\r\n\r\n');
      assert.equal((await idle.readResponse()).status, 200);
      busy.write('GET /slow HTTP/1.1\r\nHost: default.test\r\n\r\n');
      await waitFor(() => backend.requests.some((r) => r.path === '/slow'), { message: 'the slow request at the backend' });
      assert.deepEqual(await served(), fastFrontOn ? { fast: true, fastRequests: 2, handoffs: 0 } : { fast: false, fastRequests: 0, handoffs: 0 });
      const signalled = Date.now();
      own.proxy.proxy.signal('SIGTERM');
      assert.equal((await busy.readResponse({ timeoutMs: 10_000 })).status, 200, 'the request under way is answered');
      await waitFor(() => idle.isClosed && busy.isClosed, { timeoutMs: 10_000, message: 'both connections closed by the proxy' });
      assert.equal(await own.proxy.proxy.exited, 0, own.proxy.proxy.logs());
      const took = Date.now() - signalled;
      assert.ok(took < 8000, `the drain took ${took} ms (keepAliveTimeout 75 s, drainTimeout 30 s)`);
    } finally {
      idle.close();
      busy.close();
    }
  });

  test('https.ciphers replaces the profile: a CBC suite named there is accepted', async () => {
    const custom = await startTlsInstance(ca, backendUrl, { ciphers: `${GCM_SUITE}:${CBC_SUITE}` });
    const cbc = await handshake(custom.httpsPort, ca, { maxVersion: 'TLSv1.2', ciphers: CBC_SUITE });
    assert.ok(cbc instanceof tls.TLSSocket, String(cbc));
    cbc.destroy();
  });

  test('https.minVersion "TLSv1.3" refuses TLS 1.2', async () => {
    const strict = await startTlsInstance(ca, backendUrl, { minVersion: 'TLSv1.3' });
    assert.ok((await handshake(strict.httpsPort, ca, { maxVersion: 'TLSv1.2' })) instanceof Error);
    const ok = await handshake(strict.httpsPort, ca);
    assert.ok(ok instanceof tls.TLSSocket, String(ok));
    ok.destroy();
  });

  test('/route and `switchyard explain` name the certificate a handshake for the host gets', async () => {
    const own = JSON.parse((await plain.proxy.get('/route?host=SNI.test')).text);
    assert.equal(own.certificate.source, 'file');
    assert.equal(own.certificate.key, 'sni.test');
    assert.ok(!JSON.stringify(own).includes('PRIVATE KEY'), 'never the PEM');
    assert.equal(JSON.parse((await plain.proxy.get('/route?host=default.test')).text).certificate, null, 'the default');
    const explained = await switchyard(['explain', 'sni.test', '--admin', `http://127.0.0.1:${plain.proxy.adminPort}`]);
    assert.equal(explained.status, 0, shown(explained));
    assert.match(explained.stdout, /certificate: sni\.test from the file source, valid until \d{4}-/);
  });

  test('a session ticket issued by one worker resumes on the others (with a certificate chosen by SNI): every reconnection is resumed, and both workers served', async () => {
    const two = await startTlsInstance(ca, backendUrl, {}, 2);
    const before = await two.proxy.status();
    const servedBefore = new Map(before.workers.map((w: { worker: string; requests: number }) => [w.worker, w.requests]));
    let session: Buffer | undefined;
    let resumed = 0;
    const rounds = 30;
    for (let i = 0; i < rounds; i++) {
      const socket = await handshake(two.httpsPort, ca, { servername: 'sni.test', ...(session === undefined ? {} : { session }) });
      assert.ok(socket instanceof tls.TLSSocket, String(socket));
      // A resumed handshake sends no certificate: the first one shows which was chosen.
      if (i === 0) assert.match(socket.getPeerX509Certificate()?.subjectAltName ?? '', /sni\.test/);
      if (socket.isSessionReused()) resumed++;
      const ticket = once(socket, 'session');
      const closed = once(socket, 'close');
      socket.write('GET / HTTP/1.1\r\nHost: sni.test\r\nConnection: close\r\n\r\n');
      socket.resume();
      // TLS 1.3 sends its tickets after the handshake (a resumed one may send none): the newest serves the next connection.
      const wait = socket.isSessionReused() ? 200 : 2000;
      session = ((await Promise.race([ticket, new Promise((r) => setTimeout(() => r([session]), wait))])) as [Buffer])[0];
      await closed;
    }
    assert.equal(resumed, rounds - 1, 'every connection after the first resumed its session');
    const after = await two.proxy.status();
    const busy = after.workers.filter((w: { worker: string; requests: number }) => w.requests > ((servedBefore.get(w.worker) as number) ?? 0));
    assert.equal(busy.length, 2, 'both workers took connections (otherwise this proves nothing about sharing)');
  });
});
