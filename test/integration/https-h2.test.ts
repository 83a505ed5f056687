// SPEC §7: HTTP/2 to clients on the HTTPS listener (ALPN "h2", "http/1.1"
// still offered). Requests over h2 are routed by :authority, forwarded to
// HTTP/1.1 backends as RFC 9113 §8.2-8.3 says, logged and counted as
// HTTP/1.1 ones are; a malformed one is a stream error, never a crash.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import http from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { before, describe, test } from 'node:test';
import { hipacheConfig } from '../helpers/config.js';
import { onCleanup } from '../helpers/cleanup.js';
import { adminReady } from '../helpers/front.js';
import { connectRawH2, FRAME, indexedStatus } from '../helpers/h2-frames.js';
import { scrape, total } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { echoAnswer, header, startRawBackend, type ParsedRequest, type RawBackend } from '../helpers/raw-backend.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const { NGHTTP2_PROTOCOL_ERROR, NGHTTP2_CANCEL } = http2.constants;

interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function h2Connect(port: number): Promise<ClientHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  onCleanup(() => void session.destroy());
  return new Promise((resolve, reject) => session.once('connect', () => resolve(session)).once('error', reject));
}

function h2Request(session: ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | Buffer[]): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const endStream = body === undefined;
    const stream = session.request(headers, { endStream });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.on('close', () => {
      if (stream.rstCode !== 0 && stream.rstCode !== undefined) reject(Object.assign(new Error(`stream reset: ${stream.rstCode}`), { rstCode: stream.rstCode }));
    });
    if (Array.isArray(body)) {
      for (const part of body) stream.write(part);
      stream.end();
    } else if (body !== undefined) stream.end(body);
  });
}

describe('HTTP/2 on the HTTPS listener', () => {
  let redis: RedisServer;
  let proxy: Switchyard;
  let httpsPort: number;
  let adminPort: number;
  let backend: RawBackend;
  let accessLog: string;
  /** The backend requests seen, for `host` (answers name the path, method and body length). */
  const seen = (path: string): ParsedRequest[] => backend.requests.filter((r) => r.path === path);
  const get = async (session: ClientHttp2Session, path: string, authority = 'h2.test') => h2Request(session, { ':method': 'GET', ':path': path, ':authority': authority });

  before(async () => {
    redis = await startRedis();
    backend = await startRawBackend((req, socket) => answerFor(req, socket));
    const dir = tempDir('https-h2');
    const tls = selfSignedCert();
    httpsPort = await freePort();
    adminPort = await freePort();
    const config = {
      ...hipacheConfig({ redisUrl: redis.url, dir }),
      https: { port: httpsPort, bind: ['127.0.0.1'], key: tls.key, cert: tls.cert },
      admin: { port: adminPort },
    };
    accessLog = path.join(dir, 'access.log'); // where hipacheConfig puts it
    proxy = await startSwitchyard(config);
    await adminReady(adminPort);
    await redis.cmd('RPUSH', 'frontend:h2.test', 'h2-site', backend.url);
  });

  /** The backend's answers: special paths answer what h2 cannot carry, or nothing at all. */
  function answerFor(req: ParsedRequest, socket: Socket): string | null {
    if (req.path === '/forbidden-headers') {
      return 'HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\nok';
    }
    if (req.path === '/switching') return 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n';
    if (req.path === '/no-content') return 'HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n';
    return String(echoAnswer(req, socket));
  }

  test('ALPN negotiates h2 with a client that offers it', async () => {
    const session = await h2Connect(httpsPort);
    assert.equal(session.alpnProtocol, 'h2');
    const res = await get(session, '/alpn-h2');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).path, '/alpn-h2');
  });

  test('an HTTPS client offering only http/1.1 gets http/1.1', async () => {
    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const options: https.RequestOptions & { ALPNProtocols: string[] } = { host: '127.0.0.1', port: httpsPort, path: '/only-h1', headers: { host: 'h2.test' }, rejectUnauthorized: false, agent: false, ALPNProtocols: ['http/1.1'] };
      const req = https.request(options, (r) => {
        r.resume();
        r.on('end', () => resolve((r.socket as TLSSocket).alpnProtocol));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(alpn, 'http/1.1');
    assert.equal(seen('/only-h1').length, 1);
  });

  test('a GET is routed by :authority; the backend gets Host from it, no pseudo-header, X-Forwarded-* https and one X-Request-Id', async () => {
    const session = await h2Connect(httpsPort);
    const res = await h2Request(session, { ':method': 'GET', ':path': '/get?q=1', ':authority': 'h2.test', 'x-request-id': 'from-client', 'user-agent': 'h2-test' });
    assert.equal(res.status, 200);
    const [req] = seen('/get?q=1');
    assert.ok(req, 'the backend got the request');
    assert.deepEqual(header(req, 'host'), ['h2.test']);
    assert.ok(!req.headers.some(([n]) => n.startsWith(':')), `no pseudo-header: ${JSON.stringify(req.headers)}`);
    assert.deepEqual(header(req, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(header(req, 'x-forwarded-port'), [String(httpsPort)]);
    assert.deepEqual(header(req, 'x-forwarded-for'), ['127.0.0.1']);
    assert.equal(header(req, 'x-request-id').length, 1);
    assert.deepEqual(header(req, 'user-agent'), ['h2-test']);
    assert.deepEqual(header(req, 'content-length'), [], 'a GET without body has no framing');
    assert.deepEqual(header(req, 'transfer-encoding'), []);
    assert.equal(res.headers['x-request-id'], header(req, 'x-request-id')[0]);
    assert.equal(backend.anomalies.length, 0, backend.anomalies.join('\n'));
  });

  test(':authority wins over a Host field that differs; cookie fields are joined with "; "', async () => {
    const session = await h2Connect(httpsPort);
    const res = await h2Request(session, { ':method': 'GET', ':path': '/cookies', ':authority': 'h2.test', host: 'elsewhere.test', cookie: ['a=1', 'b=2', 'c=3'] });
    assert.equal(res.status, 200);
    const [req] = seen('/cookies');
    assert.ok(req);
    assert.deepEqual(header(req, 'host'), ['h2.test']);
    assert.deepEqual(header(req, 'cookie'), ['a=1; b=2; c=3']);
  });

  test('a POST with a Content-Length is forwarded with it; one without is forwarded chunked; the bodies arrive whole', async () => {
    const session = await h2Connect(httpsPort);
    const body = Buffer.alloc(100_000, 'x');
    const sized = await h2Request(session, { ':method': 'POST', ':path': '/post-sized', ':authority': 'h2.test', 'content-length': String(body.length) }, body);
    assert.equal(sized.status, 200);
    assert.equal(JSON.parse(sized.body.toString()).bodyLength, body.length);
    const [a] = seen('/post-sized');
    assert.deepEqual(header(a!, 'content-length'), [String(body.length)]);
    assert.deepEqual(header(a!, 'transfer-encoding'), []);

    const unsized = await h2Request(session, { ':method': 'POST', ':path': '/post-unsized', ':authority': 'h2.test' }, [body.subarray(0, 5000), body.subarray(5000)]);
    assert.equal(unsized.status, 200);
    const [b] = seen('/post-unsized');
    assert.deepEqual(header(b!, 'content-length'), []);
    assert.deepEqual(header(b!, 'transfer-encoding'), ['chunked']);
    assert.equal(b!.body.length, body.length);
    assert.ok(b!.body.equals(body));
    assert.equal(backend.anomalies.length, 0, backend.anomalies.join('\n'));
  });

  test('a POST with Expect: 100-continue gets its 100 before sending the body', { timeout: 10_000 }, async () => {
    const session = await h2Connect(httpsPort);
    const stream = session.request({ ':method': 'POST', ':path': '/continue', ':authority': 'h2.test', 'content-length': '5', expect: '100-continue' }, { endStream: false });
    await new Promise<void>((resolve, reject) => stream.once('continue', resolve).once('error', reject));
    stream.end('hello');
    const status = await new Promise<number>((resolve, reject) => {
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
    });
    stream.resume();
    assert.equal(status, 200);
    const [req] = seen('/continue');
    assert.equal(req?.body.toString(), 'hello');
    assert.deepEqual(header(req!, 'expect'), []);
  });

  test('HEAD gets the headers without a body; a 204 ends the stream without one', async () => {
    const session = await h2Connect(httpsPort);
    const head = await h2Request(session, { ':method': 'HEAD', ':path': '/head', ':authority': 'h2.test' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(seen('/head')[0]?.method, 'HEAD');
    const empty = await get(session, '/no-content');
    assert.equal(empty.status, 204);
    assert.equal(empty.headers['x-kind'], 'empty');
    assert.equal(empty.body.length, 0);
    // Answered whole, not "client closed request" (499).
    await waitFor(() => /"HEAD \/head HTTP\/2\.0" 200 /.test(readFileSync(accessLog, 'utf8')), { message: 'the HEAD logged as answered' });
    await waitFor(() => /"GET \/no-content HTTP\/2\.0" 204 /.test(readFileSync(accessLog, 'utf8')), { message: 'the 204 logged as answered' });
  });

  test('an unknown host gets the proxy\'s 400 page over h2, and the session goes on', async () => {
    const session = await h2Connect(httpsPort);
    const res = await get(session, '/', 'unknown.invalid');
    assert.equal(res.status, 400);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.ok(res.body.length > 0);
    assert.ok(res.headers['x-request-id']);
    assert.equal((await get(session, '/after-400')).status, 200);
    // With a body the proxy never reads: the page arrives whole all the same.
    const post = await h2Request(session, { ':method': 'POST', ':path': '/', ':authority': 'unknown.invalid', 'content-length': '200000' }, Buffer.alloc(200_000, 'p'));
    assert.equal(post.status, 400);
    assert.equal(post.body.length, Number(post.headers['content-length']));
    assert.equal((await get(session, '/after-post-400')).status, 200);
  });

  test('malformed requests get a stream error (PROTOCOL_ERROR), reach no backend, and the session and its other streams go on', async () => {
    const raw = await connectRawH2(httpsPort);
    const base: [string, string][] = [[':method', 'GET'], [':scheme', 'https'], [':authority', 'h2.test']];
    const cases: [string, [string, string][]][] = [
      ['a connection-specific field', [...base, [':path', '/m1'], ['connection', 'keep-alive']]],
      ['Transfer-Encoding', [...base, [':path', '/m2'], ['transfer-encoding', 'chunked']]],
      ['TE other than trailers', [...base, [':path', '/m3'], ['te', 'gzip']]],
      [':path without "/"', [...base, [':path', 'm4']]],
      ['two :authority', [...base, [':path', '/m5'], [':authority', 'other.test']]],
      ['an upper-case field name', [...base, [':path', '/m6'], ['X-Upper', '1']]],
      ['Upgrade', [...base, [':path', '/m7'], ['upgrade', 'websocket']]],
    ];
    let id = 1;
    for (const [what, fields] of cases) {
      raw.headers(id, fields);
      const reply = await raw.next(id, [FRAME.RST_STREAM, FRAME.HEADERS, FRAME.GOAWAY]);
      assert.equal(reply.type, FRAME.RST_STREAM, `${what}: a stream reset`);
      assert.equal(reply.payload.readUInt32BE(0), NGHTTP2_PROTOCOL_ERROR, `${what}: PROTOCOL_ERROR`);
      id += 2;
    }
    raw.headers(id, [...base, [':path', '/after-malformed']]);
    const ok = await raw.next(id, [FRAME.HEADERS, FRAME.RST_STREAM]);
    assert.equal(ok.type, FRAME.HEADERS);
    assert.equal(indexedStatus(ok), 200);
    assert.ok(!raw.frames.some((f) => f.type === FRAME.GOAWAY), 'the session was not closed');
    for (const path of ['/m1', '/m2', '/m3', 'm4', '/m5', '/m6', '/m7']) assert.equal(seen(path).length, 0, `${path} reached no backend`);
    raw.close();
  });

  test('CONNECT over h2 is refused, and reaches no backend', async () => {
    const session = await h2Connect(httpsPort);
    const res = await h2Request(session, { ':method': 'CONNECT', ':authority': 'h2.test:443' }).catch((err: { rstCode?: number }) => ({ status: -1, rst: err.rstCode }));
    assert.ok(res.status === 405 || res.status === -1, `refused: ${JSON.stringify(res)}`);
    assert.equal((await get(session, '/after-connect')).status, 200);
  });

  test('100 concurrent streams on one connection are all answered, each with its own answer', async () => {
    const session = await h2Connect(httpsPort);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => get(session, `/many/${i}`)));
    answers.forEach((res, i) => {
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body.toString()).path, `/many/${i}`);
    });
  });

  test('a backend answer with fields HTTP/2 forbids is relayed without them', async () => {
    const session = await h2Connect(httpsPort);
    const res = await get(session, '/forbidden-headers');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'ok');
    for (const name of ['connection', 'keep-alive', 'upgrade', 'proxy-connection', 'transfer-encoding', 'x-hop']) assert.equal(res.headers[name], undefined, name);
  });

  test('a backend answer h2 cannot carry (a 101 to a plain request) gets a 502, and the worker goes on', async () => {
    const session = await h2Connect(httpsPort);
    const res = await get(session, '/switching');
    assert.equal(res.status, 502);
    assert.equal((await get(session, '/after-502')).status, 200);
    assert.ok(!proxy.hasExited());
    assert.doesNotMatch(proxy.logs(), /worker .*(exited|died)|uncaught/i);
  });

  test('a client that opens and resets streams in a burst ("rapid reset", CVE-2023-44487) loses its session; the worker serves others', async () => {
    const raw = await connectRawH2(httpsPort);
    for (let i = 0, id = 1; i < 2000 && !raw.socket.destroyed; i++, id += 2) {
      raw.headers(id, [[':method', 'GET'], [':scheme', 'https'], [':authority', 'h2.test'], [':path', '/rapid']]);
      raw.reset(id, NGHTTP2_CANCEL);
    }
    await waitFor(() => raw.frames.find((f) => f.type === FRAME.GOAWAY) ?? raw.socket.destroyed, { message: 'the session ended' });
    raw.close();
    const session = await h2Connect(httpsPort);
    assert.equal((await get(session, '/after-rapid-reset')).status, 200);
    assert.ok(!proxy.hasExited());
  });

  test('h2 requests are in the access log as HTTP/2.0 and counted in switchyard_requests_total', async () => {
    const before = total((await scrape(adminPort)).samples, 'switchyard_requests_total', { method: 'GET', code: '200' });
    const session = await h2Connect(httpsPort);
    for (let i = 0; i < 3; i++) assert.equal((await get(session, `/counted-${i}`)).status, 200);
    await waitFor(() => /"GET \/counted-2 HTTP\/2\.0" 200 \d+/.test(readFileSync(accessLog, 'utf8')), { message: 'the h2 request in the access log' });
    await waitFor(async () => total((await scrape(adminPort)).samples, 'switchyard_requests_total', { method: 'GET', code: '200' }) >= before + 3, {
      message: 'the h2 requests counted',
    });
  });
});

describe('HTTP/2 streams and their backend requests', () => {
  let proxy: Switchyard;
  let httpsPort: number;
  /** A backend that takes request heads and bodies and answers nothing: it records when a connection closes. */
  const connections: { data: Buffer; closed: boolean }[] = [];

  before(async () => {
    const redis = await startRedis();
    const server = net.createServer((socket) => {
      const c = { data: Buffer.alloc(0), closed: false };
      connections.push(c);
      socket.on('data', (d: Buffer) => (c.data = Buffer.concat([c.data, d])));
      socket.on('close', () => (c.closed = true));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const tls = selfSignedCert();
    httpsPort = await freePort();
    const config = {
      ...hipacheConfig({ redisUrl: redis.url, dir: tempDir('https-h2-reset'), server: { tcpTimeout: 30, keepAliveTimeout: 1 } }),
      https: { port: httpsPort, bind: ['127.0.0.1'], key: tls.key, cert: tls.cert },
    };
    proxy = await startSwitchyard(config);
    await redis.cmd('RPUSH', 'frontend:upload.test', 'upload', `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const big = http.createServer((req, res) => {
      const sent = { bytes: 0 };
      bigSent.push(sent);
      res.writeHead(200, { 'content-length': String(BIG) });
      const chunk = Buffer.alloc(64 * 1024, 'b');
      const pump = (): void => {
        while (sent.bytes < BIG) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      req.resume();
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      big.closeAllConnections();
      return new Promise<void>((resolve) => big.close(() => resolve()));
    });
    await redis.cmd('RPUSH', 'frontend:big.test', 'big', `http://127.0.0.1:${(big.address() as net.AddressInfo).port}`);
  });

  /** Each big answer's backend: the bytes it could hand to its socket so far (it respects backpressure). */
  const bigSent: { bytes: number }[] = [];
  const BIG = 64 * 1024 * 1024;

  test('streams whose client does not read hold their backends back (flow control), and deliver everything once read', async () => {
    const session = await h2Connect(httpsPort);
    const streams = Array.from({ length: 4 }, () => {
      const stream = session.request({ ':method': 'GET', ':path': '/big', ':authority': 'big.test' });
      stream.on('error', () => {});
      stream.pause();
      return stream;
    });
    await waitFor(() => bigSent.length === 4, { message: 'the four backend requests' });
    // Let whatever can be buffered be buffered.
    let last = -1;
    await waitFor(
      () => {
        const now = bigSent.reduce((n, s) => n + s.bytes, 0);
        const still = now === last;
        last = now;
        return still;
      },
      { intervalMs: 500, timeoutMs: 15_000, message: 'the backends held back' },
    );
    for (const sent of bigSent) assert.ok(sent.bytes < 16 * 1024 * 1024, `a backend could send ${sent.bytes} bytes to a client that reads nothing`);
    const lengths = await Promise.all(
      streams.map(
        (stream) =>
          new Promise<number>((resolve, reject) => {
            let n = 0;
            stream.on('data', (c: Buffer) => (n += c.length));
            stream.on('end', () => resolve(n));
            stream.on('close', () => (stream.rstCode ? reject(new Error(`reset ${stream.rstCode}`)) : undefined));
            stream.resume();
          }),
      ),
    );
    assert.deepEqual(lengths, [BIG, BIG, BIG, BIG]);
  });

  test('a stream the client resets mid-upload aborts its backend request; the session goes on', async () => {
    const session = await h2Connect(httpsPort);
    const stream = session.request({ ':method': 'POST', ':path': '/upload', ':authority': 'upload.test', 'content-length': '1000000' }, { endStream: false });
    stream.on('error', () => {});
    stream.write(Buffer.alloc(20_000, 'u'));
    const c = await waitFor(() => connections.find((x) => x.data.includes('POST /upload ') && x.data.length > 10_000), { message: 'the backend getting the upload' });
    assert.equal(c.closed, false);
    stream.close(NGHTTP2_CANCEL);
    await waitFor(() => c.closed, { message: 'the backend connection closed once the client reset its stream' });
    assert.ok(!session.destroyed && !session.closed, 'the session is still open');
    assert.ok(!proxy.hasExited());
  });
  test('a session without an open stream for keepAliveTimeout is closed', { timeout: 10_000 }, async () => {
    const session = await h2Connect(httpsPort);
    const closed = new Promise<void>((resolve) => session.once('close', resolve));
    assert.equal((await h2Request(session, { ':method': 'HEAD', ':path': '/big', ':authority': 'big.test' })).status, 200);
    const started = Date.now();
    await closed;
    assert.ok(Date.now() - started < 4000, `closed after ${Date.now() - started} ms`);
  });

  // Last: it stops the proxy.
  test('on shutdown an idle HTTP/2 session gets GOAWAY and does not hold the worker until drainTimeout', { timeout: 25_000 }, async () => {
    const session = await h2Connect(httpsPort);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    const started = Date.now();
    const code = await proxy.stop('SIGTERM', 20_000);
    await goaway;
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms (drainTimeout is 30 s)`);
  });
});
