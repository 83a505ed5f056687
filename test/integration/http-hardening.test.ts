// Issue 11, items 6, 7, 8, 9, 10 and 12: what one client, or one backend,
// can do to others. Raw sockets where bytes matter; npm test runs this file
// under both front ends.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { onCleanup } from '../helpers/cleanup.js';
import { RawConnection, rawRequest, request } from '../helpers/http.js';
import { echoAnswer, startRawBackend } from '../helpers/raw-backend.js';
import { deadMembers } from '../helpers/redis-proxy.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

describe('hardening: one client or backend never harms others', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ server: { idleTimeout: 1 }, admin: true });
  });

  test('an answer (any status) never marks the last live backend dead: a URL that fails cannot take a vhost down', async () => {
    const answer = (req: { path: string }) => (req.path === '/boom' ? 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom' : null);
    const a = await startRawBackend((req, socket) => answer(req) ?? echoAnswer(req, socket));
    const b = await startRawBackend((req, socket) => answer(req) ?? echoAnswer(req, socket));
    await stack.setFrontend('fragile.test', 'fragile', a.url, b.url);
    for (let i = 0; i < 6; i++) assert.equal((await stack.get('fragile.test', { path: '/boom' })).status, 500);
    assert.ok((await deadMembers(stack.redis, 'fragile.test')).length <= 1, 'one of the two may be marked, never both');
    const res = await stack.get('fragile.test', { path: '/fine' });
    assert.equal(res.status, 200, 'the vhost still serves');
  });

  test('connection failures still mark every backend that fails, the last live one included (only answers spare it)', async () => {
    await stack.setFrontend('gone.test', 'gone', `http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`);
    assert.equal((await stack.get('gone.test')).status, 502);
    await waitFor(async () => (await deadMembers(stack.redis, 'gone.test')).length === 2, { message: 'both refusing backends marked' });
  });

  test('a POST whose backend closed after reading it is not sent to another backend; a GET is', async () => {
    // Each backend reads the request, then closes without answering (it may have acted on it).
    const hangUp = () => startRawBackend((_req, socket) => (socket.destroy(), null));
    const [one, two] = [await hangUp(), await hangUp()];
    await stack.setFrontend('once.test', 'once', one.url, two.url);
    // No body: a body already read could not be sent again anyway; the method alone must stop the retry.
    const post = await stack.get('once.test', { method: 'POST', path: '/pay', body: '' });
    assert.equal(post.status, 502);
    const posts = [...one.requests, ...two.requests].filter((r) => r.path === '/pay');
    assert.equal(posts.length, 1, 'the POST arrived once');
    const get = await stack.get('once.test', { path: '/read' });
    assert.equal(get.status, 502);
    const gets = [...one.requests, ...two.requests].filter((r) => r.path === '/read');
    assert.equal(gets.length, 2, 'an idempotent request is tried on the other backend');
  });

  test('a malformed request pipelined behind a 1 MiB answer: the answer arrives whole, the 400 only after it', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const backend = await startRawBackend((req, socket) => (req.path === '/big' ? `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n${big}` : echoAnswer(req, socket)));
    await stack.setFrontend('big.test', 'big', backend.url);
    const res = await rawRequest(stack.proxy.port, 'GET /big HTTP/1.1\r\nHost: big.test\r\n\r\nGARBAGE\r\n\r\n', { timeoutMs: 8000 });
    const headEnd = res.text.indexOf('\r\n\r\n');
    assert.match(res.text.slice(0, headEnd), /^HTTP\/1\.1 200 /);
    const body = res.text.slice(headEnd + 4, headEnd + 4 + big.length);
    assert.equal(body, big, 'the 1 MiB body, untouched');
    assert.match(res.text.slice(headEnd + 4 + big.length), /^(HTTP\/1\.1 400 [^]*)?$/, 'nothing but the 400 after it');
  });

  test('x-debug-frontend-key is the matched key without "frontend:", as Hipache sent it', async () => {
    const backend = await startRawBackend();
    await stack.setFrontend('debug.test', 'd', backend.url);
    await stack.setFrontend('*.wild.test', 'w', backend.url);
    for (const [host, key] of [['debug.test', 'debug.test'], ['a.b.wild.test', '*.wild.test']] as const) {
      const res = await stack.get(host, { headers: { 'X-Debug': '1' } });
      assert.equal(res.headers['x-debug-frontend-key'], key);
    }
  });

  test('the access log escapes quotes and control bytes as nginx does (\\x22): no field can be forged', async () => {
    const backend = await startRawBackend();
    await stack.setFrontend('log.test', 'l', backend.url);
    const res = await rawRequest(stack.proxy.port, 'GET /a"b HTTP/1.1\r\nHost: log.test\r\nUser-Agent: x" 200 0 "forged\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200);
    const line = await waitFor(() => readFileSync(stack.accessLog, 'utf8').split('\n').find((l) => l.includes('/a\\x22b')) ?? null, { message: 'the logged line' });
    assert.ok(line.includes('"GET /a\\x22b HTTP/1.1"'), line);
    // The user agent, then the request id (the last field of a combined line).
    assert.ok(line.endsWith(`"x\\x22 200 0 \\x22forged" "${res.text.match(/x-request-id: (\S+)/i)?.[1]}"`), line);
  });

  test('a WebSocket tunnel stuck on a backend that stops reading is closed after idleTimeout (its client, gone meanwhile, is never read)', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        socket.pause(); // reads nothing more, and never closes
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      for (const socket of sockets) socket.destroy(); // paused, it would never see the proxy close it
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await stack.setFrontend('stuck.test', 's', `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const limits = async () => JSON.parse((await request({ port: stack.adminPort!, host: '127.0.0.1', path: '/status' })).text).limits;
    const before = await limits();
    const conn = await RawConnection.open(stack.proxy.port);
    conn.write('GET /ws HTTP/1.1\r\nHost: stuck.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    assert.equal((await conn.readResponse({ head: true })).status, 101);
    // More than the sockets' buffers hold: the proxy stops reading the client.
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 16; i++) conn.socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 300));
    conn.socket.end();
    conn.socket.resetAndDestroy(); // gone: the proxy, not reading it, cannot see it
    await waitFor(async () => (await limits()).stalledWebSockets === before.stalledWebSockets + 1, { timeoutMs: 5000, message: 'the stuck tunnel closed and counted' });
    await waitFor(async () => (await limits()).openConnections === before.openConnections, { timeoutMs: 3000, message: 'its client connection gone' });
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
