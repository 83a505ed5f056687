// SPEC §3 backend side: pooled keep-alive connections (maxSockets per
// backend), and every way a backend may frame or end its answer. The backends
// here are raw TCP servers, so each test controls the exact bytes and packet
// boundaries the proxy's HTTP client sees.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { countedBackend } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { hipacheConfig } from '../helpers/config.js';
import { RawConnection, request } from '../helpers/http.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startProxy, type Proxy } from '../helpers/redis-proxy.js';
import { startSwitchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Writes `parts` one by one with a pause between, so each reaches the proxy as its own packet. */
async function trickle(socket: net.Socket, parts: string[], gapMs = 15): Promise<void> {
  for (const part of parts) {
    if (socket.destroyed) return;
    socket.write(part);
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

describe('backend connections and response framing', () => {
  let redis: RedisServer;
  let proxy: Proxy;
  let small: Proxy;

  before(async () => {
    redis = await startRedis();
    proxy = await startProxy({ driver: redis.url, server: { tcpTimeout: 2 } });
    small = await startProxy({ driver: redis.url, server: { maxSockets: 2 } });
  });

  const setFrontend = async (key: string, ...backends: string[]) => {
    await redis.cmd('DEL', `frontend:${key}`);
    await redis.cmd('RPUSH', `frontend:${key}`, 'site', ...backends);
  };

  test('sequential requests reuse one kept-alive backend connection', async () => {
    const b = await countedBackend((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    await setFrontend('reuse.test', b.url);
    for (let i = 0; i < 20; i++) {
      const res = await proxy.get('reuse.test');
      assert.deepEqual([res.status, res.body.toString()], [200, 'ok']);
    }
    assert.equal(b.accepted, 1);
  });

  test('maxSockets caps the connections to a backend; requests beyond it wait their turn', async () => {
    const b = await countedBackend((s) => setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow'), 50));
    await setFrontend('capped.test', b.url);
    const answers = await Promise.all(Array.from({ length: 12 }, () => small.get('capped.test')));
    assert.deepEqual(new Set(answers.map((r) => `${r.status} ${r.body.toString()}`)), new Set(['200 slow']));
    assert.ok(b.peak <= 2, `peak of ${b.peak} connections with maxSockets 2`);
    assert.equal(b.heads.length, 12);
  });

  test('a chunked answer arriving in many small packets is relayed whole', async () => {
    const b = await countedBackend((s) => {
      void trickle(s, ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n', 'X-Backend-Name: chunky\r\n\r\n', '5\r\nhel', 'lo\r\n', '7;ext=1\r\n, world\r\n', '0\r\n', 'X-Trailer: dropped\r\n\r\n']);
    });
    await setFrontend('chunky.test', b.url);
    for (let i = 0; i < 2; i++) {
      const res = await proxy.get('chunky.test');
      assert.deepEqual([res.status, res.body.toString()], [200, 'hello, world']);
    }
    assert.equal(b.accepted, 1, 'the connection is reused after a chunked answer');
  });

  test('an HTTP/1.0 backend without a length: the body runs to the close, and a new connection is used next', async () => {
    const b = await countedBackend((s) => {
      void trickle(s, ['HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'part one, ', 'part two']).then(() => s.end());
    });
    await setFrontend('http10.test', b.url);
    for (let i = 0; i < 3; i++) {
      const res = await proxy.get('http10.test');
      assert.deepEqual([res.status, res.body.toString()], [200, 'part one, part two']);
    }
    assert.equal(b.accepted, 3);
  });

  test('a backend answering Connection: close gets a fresh connection for each request', async () => {
    const b = await countedBackend((s) => s.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye'));
    await setFrontend('closing.test', b.url);
    for (let i = 0; i < 3; i++) assert.equal((await proxy.get('closing.test')).body.toString(), 'bye');
    assert.equal(b.accepted, 3);
  });

  test('a kept-alive connection the backend dropped while idle is retried on a new one, unseen by the client', async () => {
    const sockets: net.Socket[] = [];
    const b = await countedBackend((s) => {
      sockets.push(s);
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    await setFrontend('stale.test', b.url);
    assert.equal((await proxy.get('stale.test')).status, 200);
    // The backend resets its idle connection; the proxy may not have seen it yet when the next request comes.
    for (const s of sockets) s.resetAndDestroy();
    const res = await proxy.get('stale.test');
    assert.deepEqual([res.status, res.body.toString()], [200, 'ok']);
    assert.ok(b.accepted >= 2);
  });

  test('interim 100 and 103 answers are not relayed; the final answer is', async () => {
    const b = await countedBackend((s) => s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated'));
    await setFrontend('interim.test', b.url);
    const res = await proxy.get('interim.test');
    assert.deepEqual([res.status, res.body.toString()], [201, 'created']);
  });

  test('a backend answering garbage gets the client a 502, and the next request a fresh connection', async () => {
    const b = await countedBackend((s) => s.write('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    await setFrontend('garbage.test', b.url);
    assert.equal((await proxy.get('garbage.test')).status, 502);
    assert.equal((await proxy.get('garbage.test')).status, 502);
    assert.equal(b.accepted, 2);
  });

  test('a header Node cannot relay (a control character) gets the client a 502, and the worker keeps serving', async () => {
    const b = await countedBackend((s, head) => {
      if (head.includes('/bad')) s.write('HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\nContent-Length: 2\r\n\r\nok');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood');
    });
    await setFrontend('bad-header.test', b.url);
    assert.equal((await proxy.get('bad-header.test', { path: '/bad' })).status, 502);
    const res = await proxy.get('bad-header.test', { path: '/fine' });
    assert.deepEqual([res.status, res.body.toString()], [200, 'good']);
    assert.doesNotMatch(proxy.sy.logs(), /worker died|uncaught/i);
  });

  test('a backend that never answers: 504 after tcpTimeout, and its connection is dropped', async () => {
    const b = await countedBackend(() => {});
    await setFrontend('silent.test', b.url);
    const started = performance.now();
    assert.equal((await proxy.get('silent.test')).status, 504);
    const ms = performance.now() - started;
    assert.ok(ms >= 1900 && ms < 4000, `504 after ${ms} ms with tcpTimeout 2 s`);
    await waitFor(() => b.open() === 0, { message: 'the timed-out connection closed' });
  });

  test('HEAD answers with a Content-Length but no body; the connection is reused', async () => {
    const b = await countedBackend((s, head) => {
      if (head.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget');
    });
    await setFrontend('head.test', b.url);
    const conn = await RawConnection.open(proxy.sy.port);
    try {
      conn.write('HEAD / HTTP/1.1\r\nHost: head.test\r\n\r\n');
      const head = await conn.readResponse({ head: true });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '1234');
      conn.write('GET / HTTP/1.1\r\nHost: head.test\r\n\r\n');
      assert.equal((await conn.readResponse()).body.toString(), 'get');
    } finally {
      conn.close();
    }
    assert.equal(b.accepted, 1);
  });

  test('a backend answering 413 before reading the upload: the client gets the 413 and its connection stays usable', async () => {
    const b = await countedBackend((s, head) => {
      if (head.startsWith('POST')) s.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    await setFrontend('upload.test', b.url);
    const conn = await RawConnection.open(proxy.sy.port);
    try {
      const body = 'x'.repeat(256 * 1024);
      conn.write(`POST /upload HTTP/1.1\r\nHost: upload.test\r\nContent-Length: ${body.length}\r\n\r\n`);
      const first = await conn.readResponse();
      assert.deepEqual([first.status, first.body.toString()], [413, 'too big!']);
      conn.write(body);
      conn.write('GET / HTTP/1.1\r\nHost: upload.test\r\n\r\n');
      const second = await conn.readResponse();
      assert.deepEqual([second.status, second.body.toString()], [200, 'ok']);
    } finally {
      conn.close();
    }
  });

  test('a client leaving mid-answer closes that backend connection; the next request is served', async () => {
    let n = 0;
    const b = await countedBackend((s) => {
      if (++n === 1) {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nbeginning');
        return;
      }
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
    });
    await setFrontend('leave.test', b.url);
    const conn = await RawConnection.open(proxy.sy.port);
    conn.write('GET / HTTP/1.1\r\nHost: leave.test\r\n\r\n');
    await waitFor(() => b.heads.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    conn.close();
    await waitFor(() => b.open() === 0, { message: 'the abandoned backend connection closed' });
    const res = await proxy.get('leave.test');
    assert.deepEqual([res.status, res.body.toString()], [200, 'next']);
  });

  test('an https:// backend is reached over TLS, its certificate verified (trusted through NODE_EXTRA_CA_CERTS)', async () => {
    const tls = selfSignedCert();
    const server = https.createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, (req, res) => {
      res.setHeader('X-Backend-Name', 'tls');
      res.end(`secure ${req.url}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    await setFrontend('tls-backend.test', `https://localhost:${port}`);
    const trusting = await startSwitchyard(hipacheConfig({ redisUrl: redis.url, dir: tempDir('tls-backend') }), { env: { NODE_EXTRA_CA_CERTS: tls.cert } });
    const res = await request({ port: trusting.port, address: trusting.address, host: 'tls-backend.test', path: '/over-tls' });
    assert.deepEqual([res.status, res.body.toString()], [200, 'secure /over-tls']);
    // The proxy without that trust refuses the unknown certificate: 502, never an unverified answer.
    assert.equal((await proxy.get('tls-backend.test')).status, 502);
  });

  test('300 answers in random framings and random packet splits, over concurrent kept-alive connections, all relayed exactly', async () => {
    // Deterministic pseudo-random choices, so a failure can be replayed.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const bodyFor = (id: number) => `body-${id}-`.repeat(1 + (id % 50));
    const b = await countedBackend((s, head) => {
      const id = Number(/GET \/(\d+)/.exec(head)![1]);
      const body = bodyFor(id);
      let wire: string;
      switch (rand(3)) {
        case 0:
          wire = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
          break;
        case 1: {
          wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
          for (let i = 0; i < body.length; ) {
            const n = 1 + rand(40);
            const part = body.slice(i, i + n);
            wire += `${part.length.toString(16)}${rand(4) === 0 ? ';x=y' : ''}\r\n${part}\r\n`;
            i += n;
          }
          wire += rand(2) === 0 ? '0\r\n\r\n' : '0\r\nX-T: 1\r\n\r\n';
          break;
        }
        default:
          wire = `HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      }
      // Random packet boundaries, each slice in its own event-loop turn.
      const slices: string[] = [];
      for (let i = 0; i < wire.length; ) {
        const n = 1 + rand(60);
        slices.push(wire.slice(i, i + n));
        i += n;
      }
      void (async () => {
        for (const slice of slices) {
          if (s.destroyed) return;
          s.write(slice);
          if (rand(3) === 0) await new Promise((r) => setImmediate(r));
        }
      })();
    });
    await setFrontend('fuzz.test', b.url);
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, c) => {
        const conn = await RawConnection.open(proxy.sy.port);
        try {
          for (let k = 0; k < 30; k++) {
            const id = c * 30 + k;
            conn.write(`GET /${id} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`);
            const res = await conn.readResponse();
            if (res.status !== 200 || res.body.toString() !== bodyFor(id)) failures.push(`${id}: ${res.status} ${res.body.length} bytes`);
          }
        } finally {
          conn.close();
        }
      }),
    );
    assert.deepEqual(failures, []);
    assert.ok(b.accepted <= 10, `${b.accepted} backend connections for 10 concurrent clients`);
  });
});
