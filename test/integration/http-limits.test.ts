// SPEC §6 "Limits": a client may hold the proxy's resources only while it
// moves data. A pipelining client that stops reading is no longer read from;
// a request body or a download that stalls for server.idleTimeout is cut and
// its backend connection freed; an idle kept-alive connection closes after
// server.keepAliveTimeout; a quiet WebSocket is cut only when
// server.websocketIdleTimeout is set; past server.maxConnections a connection
// is closed at once. Nothing that moves data is cut. Run under both front
// ends (scripts/test.sh runs every http-*.test.ts again with SWITCHYARD_FRONT=node).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { countedBackend, startWsBackend, type Counted } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { hipacheConfig } from '../helpers/config.js';
import { adminReady } from '../helpers/front.js';
import { rawRequest, RawConnection, request, type RawResult } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { delay, waitFor } from '../helpers/wait.js';
import { connectWs } from '../helpers/ws-client.js';

interface Limits {
  openConnections: number;
  rejectedConnections: number;
  stalledUploads: number;
  stalledDownloads: number;
  idleWebSockets: number;
  maxConnections: number;
}

interface LimitedProxy {
  sy: Switchyard;
  port: number;
  /** The HTTPS listener's port (its HTTP/1.1 connections on the same front end as the plain listener's). */
  httpsPort: number;
  /** The admin API's /status `limits`. */
  limits(): Promise<Limits>;
}

/** A Switchyard listening on HTTP and HTTPS, with the admin API. */
async function startLimited(redis: RedisServer, server: Record<string, unknown>): Promise<LimitedProxy> {
  const config = hipacheConfig({ redisUrl: redis.url, dir: tempDir('limits'), server });
  const { key, cert } = selfSignedCert();
  const httpsPort = await freePort();
  config.https = { port: httpsPort, bind: ['127.0.0.1'], key, cert };
  const adminPort = await freePort();
  config.admin = { port: adminPort };
  const sy = await startSwitchyard(config);
  await adminReady(adminPort);
  const limits = async () => {
    const res = await request({ port: adminPort, host: '127.0.0.1', path: '/status' });
    return (JSON.parse(res.text) as { limits: Limits }).limits;
  };
  return { sy, port: sy.port, httpsPort, limits };
}

/** A backend that counts the requests it got, those that ended without their whole body, and those it answered. */
async function uploadBackend() {
  const state = { url: '', started: 0, aborted: 0, answered: 0, bodies: [] as string[] };
  const server = http.createServer((req, res) => {
    state.started++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    req.on('close', () => {
      if (!req.complete) state.aborted++;
    });
    req.on('end', () => {
      state.bodies.push(Buffer.concat(chunks).toString());
      state.answered++;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  server.on('connection', (s) => onCleanup(() => s.destroy()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}

/** A backend with an endless download at /endless (64 KiB writes, with backpressure), a slow one at /drip, and a small answer elsewhere. */
async function downloadBackend() {
  const state = { url: '', endlessOpen: 0, endlessClosed: 0 };
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = http.createServer((req, res) => {
    if (req.url === '/endless') {
      state.endlessOpen++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => state.endlessClosed++);
      return pump();
    }
    if (req.url === '/drip') {
      // 12 pieces 250 ms apart: 3 s of a download that keeps moving, longer than idleTimeout.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 12 });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('d');
        if (++sent === 12) {
          clearInterval(timer);
          res.end();
        }
      }, 250);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.end('small');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.on('connection', (s) => onCleanup(() => s.destroy()));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}

/** A raw client connection, closed once the file's tests are done. */
async function openConnection(port: number): Promise<RawConnection> {
  const conn = await RawConnection.open(port);
  onCleanup(() => conn.close());
  return conn;
}

const ANSWER = 16 * 1024;

describe('limits on client connections', () => {
  let redis: RedisServer;
  /** idleTimeout and keepAliveTimeout 1 s, 5 connections per backend; tcpTimeout 5 s, so that idleTimeout is what cuts. */
  let limited: LimitedProxy;
  /** The default limits (idleTimeout 60 s), tcpTimeout 2 s (the tests' config). */
  let defaults: LimitedProxy;

  const setFrontend = async (host: string, ...backends: string[]) => {
    await redis.cmd('DEL', `frontend:${host}`);
    await redis.cmd('RPUSH', `frontend:${host}`, host, ...backends);
  };

  before(async () => {
    redis = await startRedis();
    limited = await startLimited(redis, { idleTimeout: 1, keepAliveTimeout: 1, maxSockets: 5, tcpTimeout: 5 });
    defaults = await startLimited(redis, {});
  });

  describe('a client that pipelines and never reads', () => {
    let backend: Counted;

    before(async () => {
      // 16 KiB answers, each saying which request it answers.
      backend = await countedBackend((socket, head) => {
        const path = head.slice(4, head.indexOf(' ', 4));
        const body = `${path} `.padEnd(ANSWER, '.');
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
      await setFrontend('flood.test', backend.url);
    });

    const flood = async (open: () => Promise<RawConnection>) => {
      const count = 3000;
      const before = backend.heads.length;
      const reached = () => backend.heads.length - before;
      const conn = await open();
      onCleanup(() => conn.close());
      conn.socket.pause(); // reads nothing until told
      let burst = '';
      for (let i = 0; i < count; i++) burst += `GET /n${i} HTTP/1.1\r\nHost: flood.test\r\n\r\n`;
      conn.write(burst);
      // Wait until the proxy stops forwarding: the count holds still for half a second.
      let last = -1;
      await waitFor(
        async () => {
          const now = reached();
          const still = now === last && now > 0;
          last = now;
          if (!still) await delay(500);
          return still;
        },
        { timeoutMs: 15_000, intervalMs: 0, message: 'the requests reaching the backend to hold still' },
      );
      // What the kernel's socket buffers between the proxy and this client take (a few MiB), far from all of them.
      assert.ok(reached() < count / 2, `${reached()} of ${count} pipelined requests reached the backend while the client read nothing`);
      conn.socket.resume();
      for (let i = 0; i < count; i++) {
        const res = await conn.readResponse({ timeoutMs: 10_000 });
        assert.equal(res.body.subarray(0, res.body.indexOf(' ')).toString(), `/n${i}`);
      }
      assert.equal(reached(), count);
    };

    // idleTimeout 60 s: the flood client is not cut while it waits.
    test('is served no more than its socket buffers hold, and gets every answer in order once it reads', () => flood(() => RawConnection.open(defaults.port)));

    test('the same over TLS (the fast front end reads it, or node:http with SWITCHYARD_FRONT=node)', () => flood(() => RawConnection.openTls(defaults.httpsPort)));

    // The answers are 16 KiB: each arrives from the backend whole and is written whole, so the
    // backend connection is done with it and only the client's side can notice the stall.
    const cutWhenStuck = async (open: () => Promise<RawConnection>) => {
      const before = (await limited.limits()).stalledDownloads;
      const conn = await open();
      onCleanup(() => conn.close());
      conn.socket.pause();
      let burst = '';
      for (let i = 0; i < 3000; i++) burst += `GET /s${i} HTTP/1.1\r\nHost: flood.test\r\n\r\n`;
      conn.write(burst);
      await waitFor(async () => (await limited.limits()).stalledDownloads > before, {
        timeoutMs: 10_000,
        message: 'the client that reads nothing to be cut (idleTimeout 1 s)',
      });
      conn.socket.resume();
      await waitFor(() => conn.isClosed, { timeoutMs: 10_000, message: 'the connection closed by the proxy' });
    };

    test('is cut once its socket took nothing for idleTimeout, with the answer written whole (stalledDownloads)', () =>
      cutWhenStuck(() => RawConnection.open(limited.port)));

    test('the same over TLS', () => cutWhenStuck(() => RawConnection.openTls(limited.httpsPort)));
  });

  describe('request bodies that stall', () => {
    test('100 uploads that go quiet are cut after idleTimeout (408 or closed), their backend requests aborted; other requests are served meanwhile', async () => {
      const backend = await uploadBackend();
      await setFrontend('stall.test', backend.url);
      const before = await limited.limits();
      const stalled: Promise<RawResult>[] = [];
      for (let i = 0; i < 100; i++) {
        stalled.push(rawRequest(limited.port, 'POST /up HTTP/1.1\r\nHost: stall.test\r\nContent-Length: 100\r\n\r\nabc', { timeoutMs: 10_000 }));
      }
      await waitFor(() => backend.started >= 5, { message: 'the stalled uploads holding every backend connection (maxSockets 5)' });
      const started = Date.now();
      const other = await request({ port: limited.port, host: 'stall.test', method: 'POST', path: '/other', body: 'whole body', timeoutMs: 8000 });
      const waited = Date.now() - started;
      assert.equal(other.status, 200);
      assert.ok(waited < 3000, `another request to the host waited ${waited} ms (idleTimeout is 1 s)`);
      const results = await Promise.all(stalled);
      for (const r of results) {
        assert.equal(r.timedOut, false, 'a stalled upload still open after 10 s');
        assert.ok(r.status === 408 || r.data.length === 0, `a stalled upload got: ${r.text.slice(0, 100)}`);
      }
      // Every stalled request that reached the backend was aborted there; none was answered.
      await waitFor(() => backend.aborted === backend.started - 1, { message: `backend requests aborted (${backend.aborted} of ${backend.started - 1})` });
      assert.deepEqual(backend.bodies, ['whole body']);
      assert.equal((await limited.limits()).stalledUploads - before.stalledUploads, 100);
    });

    test('a body that trickles one byte every 0.3 s (3 s in all, idleTimeout 1 s) is not cut', async () => {
      const backend = await uploadBackend();
      await setFrontend('trickle.test', backend.url);
      const conn = await openConnection(limited.port);
      conn.write('POST /trickle HTTP/1.1\r\nHost: trickle.test\r\nContent-Length: 10\r\n\r\n');
      for (let i = 0; i < 10; i++) {
        await delay(300);
        conn.write(String(i));
      }
      const res = await conn.readResponse();
      assert.equal(res.status, 200);
      assert.deepEqual(backend.bodies, ['0123456789']);
    });
  });

  test('a backend that stops taking an upload is the backend stalling: 504 after tcpTimeout', async () => {
    // Accepts, reads nothing, never answers.
    const deaf = net.createServer((socket) => {
      socket.pause();
      socket.on('error', () => {});
      onCleanup(() => socket.destroy());
    });
    await new Promise<void>((resolve) => deaf.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise((resolve) => deaf.close(resolve)));
    await setFrontend('deaf.test', `http://127.0.0.1:${(deaf.address() as net.AddressInfo).port}`);
    const conn = await openConnection(defaults.port);
    conn.write('POST /deaf HTTP/1.1\r\nHost: deaf.test\r\nContent-Length: 1000000000\r\n\r\n');
    const chunk = Buffer.alloc(256 * 1024, 'u');
    const answer = conn.readResponse({ timeoutMs: 10_000 });
    // Sends as fast as the proxy takes it, until the answer comes.
    let answered = false;
    void answer.finally(() => (answered = true)).catch(() => {});
    while (!answered && !conn.isClosed) {
      if (!conn.socket.write(chunk)) await Promise.race([new Promise((r) => conn.socket.once('drain', r)), delay(100)]);
    }
    assert.equal((await answer).status, 504);
  });

  describe('downloads whose client stops reading', () => {
    test('are cut after idleTimeout and free their backend connections; other requests to the backend are served', async () => {
      const backend = await downloadBackend();
      await setFrontend('download.test', backend.url);
      const before = await limited.limits();
      // Five clients that ask for an endless download and read nothing hold every connection to the backend (maxSockets 5).
      const readers: RawConnection[] = [];
      for (let i = 0; i < 5; i++) {
        const conn = await openConnection(limited.port);
        conn.socket.pause();
        conn.write('GET /endless HTTP/1.1\r\nHost: download.test\r\n\r\n');
        readers.push(conn);
      }
      await waitFor(() => backend.endlessOpen === 5, { message: 'five endless downloads under way' });
      const started = Date.now();
      const other = await request({ port: limited.port, host: 'download.test', path: '/small', timeoutMs: 8000 });
      assert.deepEqual([other.status, other.text], [200, 'small']);
      assert.ok(Date.now() - started < 5000, `waited ${Date.now() - started} ms for a backend connection`);
      await waitFor(() => backend.endlessClosed === 5, { message: 'the five downloads closed at the backend' });
      assert.equal((await limited.limits()).stalledDownloads - before.stalledDownloads, 5);
    });

    test('a slow download that keeps moving (a byte every 250 ms for 3 s) is not cut', async () => {
      const backend = await downloadBackend();
      await setFrontend('drip.test', backend.url);
      const res = await request({ port: limited.port, host: 'drip.test', path: '/drip', timeoutMs: 8000 });
      assert.deepEqual([res.status, res.text], [200, 'd'.repeat(12)]);
    });
  });

  describe('keepAliveTimeout', () => {
    const closedWhenIdle = async (open: () => Promise<RawConnection>) => {
      const backend = await downloadBackend();
      await setFrontend('keepalive.test', backend.url);
      const conn = await open();
      onCleanup(() => conn.close());
      conn.write('GET /a HTTP/1.1\r\nHost: keepalive.test\r\n\r\n');
      const first = await conn.readResponse();
      assert.equal(first.status, 200);
      assert.equal(first.headers['keep-alive'], 'timeout=1');
      await delay(800);
      conn.write('GET /b HTTP/1.1\r\nHost: keepalive.test\r\n\r\n');
      assert.equal((await conn.readResponse()).status, 200, 'still open 0.8 s after an answer');
      const idleSince = Date.now();
      await waitFor(() => conn.isClosed, { timeoutMs: 5000, message: 'the idle connection closed' });
      const idle = Date.now() - idleSince;
      assert.ok(idle >= 1000 && idle < 3000, `closed after ${idle} ms idle (keepAliveTimeout 1 s, closed a second after it at most)`);
    };

    test('an idle kept-alive connection is closed after keepAliveTimeout, not before; Keep-Alive announces it', () => closedWhenIdle(() => RawConnection.open(limited.port)));

    test('the same over TLS', () => closedWhenIdle(() => RawConnection.openTls(limited.httpsPort)));
  });

  describe('websocketIdleTimeout', () => {
    test('unset: a quiet WebSocket stays open past idleTimeout and keepAliveTimeout', async () => {
      const ws = await startWsBackend({ name: 'quiet' });
      await setFrontend('quiet.ws.test', ws.url);
      const client = await connectWs({ port: limited.port, host: 'quiet.ws.test' });
      onCleanup(() => client.destroy());
      assert.equal(await client.echo('one'), 'quiet:one');
      await delay(2500);
      assert.equal(client.closed, false);
      assert.equal(await client.echo('two'), 'quiet:two');
    });

    test('set: a WebSocket quiet both ways for that long is closed; one that moves data is not', async () => {
      const proxy = await startLimited(redis, { websocketIdleTimeout: 1 });
      const ws = await startWsBackend({ name: 'idle' });
      await setFrontend('idle.ws.test', ws.url);
      const quiet = await connectWs({ port: proxy.port, host: 'idle.ws.test' });
      const busy = await connectWs({ port: proxy.port, host: 'idle.ws.test' });
      onCleanup(() => quiet.destroy());
      onCleanup(() => busy.destroy());
      assert.equal(await quiet.echo('hi'), 'idle:hi');
      const started = Date.now();
      for (let i = 0; i < 6; i++) {
        assert.equal(await busy.echo(`m${i}`), `idle:m${i}`);
        await delay(400);
      }
      await quiet.waitClosed(3000);
      assert.ok(Date.now() - started >= 900, 'not before websocketIdleTimeout');
      assert.equal(busy.closed, false, 'a WebSocket moving a message every 0.4 s stays open');
      await waitFor(async () => (await proxy.limits()).idleWebSockets === 1, { message: 'the idle WebSocket counted' });
      await waitFor(() => ws.clients().size === 1, { message: 'the backend side of the idle WebSocket closed' });
    });
  });

  describe('maxConnections', () => {
    test('counted over the HTTP and HTTPS listeners: a connection past it is closed at once (before a TLS handshake) and counted; the first ones are served', async () => {
      const proxy = await startLimited(redis, { maxConnections: 3 });
      const backend = await downloadBackend();
      await setFrontend('capped.test', backend.url);
      await waitFor(async () => (await proxy.limits()).openConnections === 0, { message: 'the readiness checks connections closed' });
      const held = [await openConnection(proxy.port), await openConnection(proxy.port), await RawConnection.openTls(proxy.httpsPort)];
      onCleanup(() => held[2]!.close());
      await waitFor(async () => (await proxy.limits()).openConnections === 3, { message: 'three connections open' });
      const started = Date.now();
      const refused = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: capped.test\r\n\r\n', { timeoutMs: 3000 });
      assert.equal(refused.timedOut, false, 'the fourth connection is still open');
      assert.equal(refused.data.length, 0, `the fourth connection got: ${refused.text.slice(0, 100)}`);
      await assert.rejects(RawConnection.openTls(proxy.httpsPort), 'a TLS handshake past the limit');
      assert.ok(Date.now() - started < 1500, 'closed at once');
      const limits = await proxy.limits();
      assert.deepEqual([limits.rejectedConnections, limits.maxConnections], [2, 3]);
      for (const conn of held) {
        conn.write('GET / HTTP/1.1\r\nHost: capped.test\r\n\r\n');
        assert.equal((await conn.readResponse()).status, 200);
      }
      held[0]!.close();
      await waitFor(async () => (await proxy.limits()).openConnections === 2, { message: 'a connection closed' });
      const res = await request({ port: proxy.port, host: 'capped.test' });
      assert.equal(res.status, 200, 'a place freed is taken again');
    });
  });
});
