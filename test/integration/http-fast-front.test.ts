// The fast front end (src/proxy/front/) serves simple requests on a bare
// socket and hands a connection to node:http at its first request that is
// not simple. These tests cross that boundary: every request on a connection
// must be answered in order, whichever side serves it, and the answers the
// fast side writes must be framed as node:http would frame them. Each test
// also checks, through the admin API's counters, which side served: so this
// file fails with the fast front end off (SWITCHYARD_FRONT=node), and
// scripts/test.sh runs it under the fast front end only. The behaviour both
// front ends share is tested by the other http-*.test.ts files, run under each.
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, beforeEach, describe, test } from 'node:test';
import { startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { assertFastFront, fastFrontDid, frontMeter, type FrontMeter } from '../helpers/front.js';
import { rawRequest, RawConnection } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

const get = (path: string, host = 'echo.test', extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
const echoOf = (body: Buffer) => JSON.parse(body.toString()) as EchoBody;

describe('fast front end and node:http on one connection', () => {
  let stack: Stack;
  let echo: Backend;
  /** What the front ends did since the test started. */
  let served: FrontMeter;
  const fastFront = (expected: { fastRequests: number; handoffs: number }) => assertFastFront(served, expected);

  before(async () => {
    stack = await startStack({ admin: true, server: { keepAliveTimeout: 2 } });
    echo = await startHttpBackend({ name: 'echo' });
    await stack.setFrontend('echo.test', 'echo', echo.url);
    const chunked = await startHttpBackend({
      name: 'chunked',
      handler: (req, res) => {
        if (req.url === '/no-content') {
          res.writeHead(204);
          return res.end();
        }
        if (req.url === '/not-modified') {
          res.writeHead(304, { etag: '"x"' });
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'text/plain' }); // no length: node:http sends it chunked
        res.write('first part, ');
        setTimeout(() => res.end('second part'), 20);
      },
    });
    await stack.setFrontend('chunked.test', 'chunked', chunked.url);
    // Answers without a length and closes: the body ends with the connection.
    const untilClose = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nbody until close'));
    });
    await new Promise<void>((resolve) => untilClose.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => untilClose.close(() => resolve())));
    await stack.setFrontend('close.test', 'close', `http://127.0.0.1:${(untilClose.address() as net.AddressInfo).port}`);
    const slow = await startHttpBackend({ name: 'slow', delayMs: 300 });
    await stack.setFrontend('slow.test', 'slow', slow.url);
  });

  beforeEach(async () => {
    served = await frontMeter(stack.adminPort!);
  });

  test('pipelined GET, POST with a body, GET: answered in order, the body intact, all three served fast', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      const body = 'x'.repeat(5000);
      conn.write(get('/one') + `POST /two HTTP/1.1\r\nHost: echo.test\r\nContent-Length: ${body.length}\r\n\r\n${body}` + get('/three'));
      const answers = [echoOf((await conn.readResponse()).body), echoOf((await conn.readResponse()).body), echoOf((await conn.readResponse()).body)];
      assert.deepEqual(answers.map((a) => `${a.method} ${a.url} ${a.bodyLength}`), ['GET /one 0', 'POST /two 5000', 'GET /three 0']);
      await fastFront({ fastRequests: 3, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('a Content-Length body arriving in pieces is streamed to the backend as it comes, and the request after it is served fast', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write('POST /pieces HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 30\r\n\r\n');
      for (const piece of ['0123456789', 'abcdefghij', 'ABCDEFGHIJ']) {
        await new Promise((r) => setTimeout(r, 30));
        conn.write(piece);
      }
      conn.write(get('/after'));
      const up = echoOf((await conn.readResponse()).body);
      assert.deepEqual([up.method, up.url, up.bodyLength], ['POST', '/pieces', 30]);
      assert.equal(echoOf((await conn.readResponse()).body).url, '/after');
      await fastFront({ fastRequests: 2, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('a backend that answers before reading the body (413): the rest of the body is read past, and the next request on the connection is served', async () => {
    const early = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    });
    await new Promise<void>((resolve) => early.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => early.close(() => resolve())));
    await stack.setFrontend('early.test', 'early', `http://127.0.0.1:${(early.address() as net.AddressInfo).port}`);
    const total = 1024 * 1024;
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(`POST /big HTTP/1.1\r\nHost: early.test\r\nContent-Length: ${total}\r\n\r\n` + 'a'.repeat(100_000));
      assert.equal((await conn.readResponse()).status, 413);
      // The rest of the body, then a request whose bytes would be misread if the body were not counted out.
      conn.write('b'.repeat(total - 100_000) + get('/after-413'));
      assert.equal(echoOf((await conn.readResponse({ timeoutMs: 10_000 })).body).url, '/after-413');
      await fastFront({ fastRequests: 2, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('an upload to a backend that does not read is held back: the proxy stops reading the client instead of buffering the body', async () => {
    const held = new Set<net.Socket>();
    const stuck = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.pause(); // never reads: the kernel's buffers fill, then the proxy's writes wait
      held.add(socket);
    });
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => {
      for (const socket of held) socket.destroy();
      stuck.close(() => resolve());
    }));
    await stack.setFrontend('stuck.test', 'stuck', `http://127.0.0.1:${(stuck.address() as net.AddressInfo).port}`);
    const total = 256 * 1024 * 1024;
    const socket = net.connect(stack.proxy.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /upload HTTP/1.1\r\nHost: stuck.test\r\nContent-Length: ${total}\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let accepted = 0;
    const deadline = Date.now() + 2000;
    try {
      while (Date.now() < deadline && accepted < total) {
        if (!socket.write(piece)) await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
        if (socket.writableLength === 0) accepted = socket.bytesWritten;
      }
      // Loopback moves gigabytes a second: taken without backpressure, all 256 MiB would be gone in 2 s.
      // What is taken is what the kernel's socket buffers on the way hold, and the proxy's 64 KiB.
      assert.ok(accepted < 64 * 1024 * 1024, `the proxy took ${(accepted / 1048576).toFixed(1)} MiB of a body nobody reads`);
      await fastFront({ fastRequests: 1, handoffs: 0 });
    } finally {
      socket.destroy();
    }
  });

  test('a body that spells a request is a body: it reaches the backend as bytes, never as a request of its own', async () => {
    const smuggled = get('/smuggled', 'echo.test');
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(`POST /carrier HTTP/1.1\r\nHost: echo.test\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
      const up = echoOf((await conn.readResponse()).body);
      assert.deepEqual([up.url, up.bodyLength], ['/carrier', smuggled.length]);
      conn.write(get('/next'));
      assert.equal(echoOf((await conn.readResponse()).body).url, '/next');
      assert.ok(!echo.requests.some((r) => r.url === '/smuggled'), 'the body was never parsed as a request');
      await fastFront({ fastRequests: 2, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('one connection: GETs, then an upload (handed to node:http), then GETs again', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      for (const path of ['/a', '/b']) {
        conn.write(get(path));
        assert.equal(echoOf((await conn.readResponse()).body).url, path);
      }
      conn.write('PUT /up HTTP/1.1\r\nHost: echo.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      const up = echoOf((await conn.readResponse()).body);
      assert.deepEqual([up.method, up.bodyLength], ['PUT', 5]);
      for (const path of ['/c', '/d']) {
        conn.write(get(path));
        assert.equal(echoOf((await conn.readResponse()).body).url, path);
      }
      assert.equal(conn.isClosed, false);
      await fastFront({ fastRequests: 2, handoffs: 1 });
    } finally {
      conn.close();
    }
  });

  test('a head arriving in pieces is served (by node:http, which gets the connection at the first piece)', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      const head = get('/split', 'echo.test', 'X-Pieces: three\r\n');
      conn.write(head.slice(0, 10));
      await new Promise((r) => setTimeout(r, 50));
      conn.write(head.slice(10, 30));
      await new Promise((r) => setTimeout(r, 50));
      conn.write(head.slice(30));
      const res = echoOf((await conn.readResponse()).body);
      assert.deepEqual([res.url, res.headers['x-pieces']], ['/split', 'three']);
      conn.write(get('/after'));
      assert.equal(echoOf((await conn.readResponse()).body).url, '/after');
      await fastFront({ fastRequests: 0, handoffs: 1 });
    } finally {
      conn.close();
    }
  });

  test('2,000 pipelined requests in one write are all answered, in order', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      let burst = '';
      for (let i = 0; i < 2000; i++) burst += get(`/n${i}`);
      conn.write(burst);
      for (let i = 0; i < 2000; i++) assert.equal(echoOf((await conn.readResponse({ timeoutMs: 20_000 })).body).url, `/n${i}`);
      // Served fast, unless the proxy caught up with the reads at a head cut by a read's end: node:http serves the rest.
      const { fastRequests, handoffs } = await fastFrontDid(served);
      assert.ok(fastRequests >= 1 && (handoffs === 1 || fastRequests === 2000), `served fast: ${fastRequests}, handed off: ${handoffs}`);
    } finally {
      conn.close();
    }
  });

  test('a chunked answer is relayed chunked, and the connection stays usable', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      for (let i = 0; i < 2; i++) {
        conn.write(get('/', 'chunked.test'));
        const res = await conn.readResponse();
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        assert.equal(res.body.toString(), 'first part, second part');
      }
      await fastFront({ fastRequests: 2, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('an answer that ends with the backend connection is relayed chunked', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(get('/', 'close.test'));
      const res = await conn.readResponse();
      assert.equal(res.status, 200);
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(res.body.toString(), 'body until close');
      conn.write(get('/next'));
      assert.equal(echoOf((await conn.readResponse()).body).url, '/next');
      await fastFront({ fastRequests: 2, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('HEAD, 204 and 304 answers carry no body; the next answer on the connection is intact', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write('HEAD /h HTTP/1.1\r\nHost: echo.test\r\n\r\n');
      const head = await conn.readResponse({ head: true });
      assert.equal(head.status, 200);
      assert.ok(Number(head.headers['content-length']) > 0, 'HEAD keeps the GET body length');
      conn.write(get('/no-content', 'chunked.test'));
      const noContent = await conn.readResponse();
      assert.equal(noContent.status, 204);
      assert.equal(noContent.headers['transfer-encoding'], undefined);
      conn.write(get('/not-modified', 'chunked.test'));
      const notModified = await conn.readResponse();
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.etag, '"x"');
      conn.write(get('/last'));
      assert.equal(echoOf((await conn.readResponse()).body).url, '/last');
      await fastFront({ fastRequests: 4, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('answers carry Date and keep-alive headers like node:http', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(get('/headers'));
      const res = await conn.readResponse();
      assert.match(res.headers.date ?? '', /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      assert.equal(res.headers.connection, 'keep-alive');
      assert.equal(res.headers['keep-alive'], 'timeout=2');
      await fastFront({ fastRequests: 1, handoffs: 0 });
    } finally {
      conn.close();
    }
  });

  test('Connection: close gets its answer with Connection: close, then the connection is closed', async () => {
    const res = await rawRequest(stack.proxy.port, get('/bye', 'echo.test', 'Connection: close\r\n'), { timeoutMs: 5000 });
    assert.equal(res.timedOut, false, 'the proxy closed the connection');
    assert.equal(res.status, 200);
    assert.match(res.text, /\r\nConnection: close\r\n/i);
    assert.match(res.text, /"url":"\/bye"/);
    await fastFront({ fastRequests: 1, handoffs: 0 });
  });

  test('a client that half-closes before its answer is taken as gone, as node:http takes it: closed without an answer', async () => {
    const started = Date.now();
    const res = await rawRequest(stack.proxy.port, get('/half-closed', 'slow.test'), { timeoutMs: 5000, end: true });
    assert.equal(res.timedOut, false, 'the proxy closed the connection');
    assert.equal(res.text, '', 'no answer');
    assert.ok(Date.now() - started < 300, `closed at once, not after the backend's answer (${Date.now() - started} ms)`);
    assert.equal((await stack.get('slow.test', { path: '/after-half-close' })).status, 200);
    await fastFront({ fastRequests: 2, handoffs: 0 });
  });

  test('a client gone before its answer does not disturb the next clients', async () => {
    const socket = net.connect(stack.proxy.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(get('/gone', 'slow.test'));
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const res = await stack.get('slow.test', { path: '/after-gone' });
    assert.equal(res.status, 200);
    await fastFront({ fastRequests: 2, handoffs: 0 });
  });

  test('an idle kept-alive connection is closed after keepAliveTimeout (2 s here), and a second of grace at most', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(get('/idle'));
      await conn.readResponse();
      const started = Date.now();
      while (!conn.isClosed && Date.now() - started < 6000) await new Promise((r) => setTimeout(r, 100));
      assert.equal(conn.isClosed, true, 'closed by the proxy');
      assert.ok(Date.now() - started >= 2000, `not before the timeout (${Date.now() - started} ms)`);
      await fastFront({ fastRequests: 1, handoffs: 0 });
    } finally {
      conn.close();
    }
  });
});
