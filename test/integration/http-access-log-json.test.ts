// SPEC §8 "Access log formats": with server.accessLogFormat "json" each
// request is one JSON object a line holding exactly the fields SPEC lists,
// null where unknown; a WebSocket is one line when its tunnel closes, with
// bytes_in and bytes_out. "combined" lines end with the request id.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { refusingPort, startHttpBackend, startWsBackend, type Backend, type WsBackend } from '../helpers/backends.js';
import { firstResponse } from '../helpers/http.js';
import { readLog } from '../helpers/identity.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { delay, waitFor } from '../helpers/wait.js';
import { connectWs } from '../helpers/ws-client.js';

const FIELDS = ['time', 'client', 'method', 'host', 'path', 'protocol', 'status', 'bytes', 'duration_ms', 'upstream_ms', 'backend', 'frontend', 'request_id', 'retries', 'error', 'user_agent', 'referer'];

type Entry = Record<string, any>;

function entries(file: string): Entry[] {
  return readLog(file)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Entry);
}

/** The line of the request whose X-Request-Id is `id`, once written (lines are flushed every 100 ms). */
async function entryFor(file: string, id: unknown): Promise<Entry> {
  assert.equal(typeof id, 'string', 'the answer carries X-Request-Id');
  return waitFor(() => entries(file).find((e) => e.request_id === id), { message: `the access log line of ${String(id)}` }).catch((err: Error) => {
    throw new Error(`${err.message}\n--- access log ---\n${readLog(file)}`);
  });
}

describe('access log, json', () => {
  let stack: Stack;
  let backend: Backend;
  let ws: WsBackend;

  before(async () => {
    stack = await startStack({ server: { accessLogFormat: 'json' } });
    backend = await startHttpBackend({ name: 'logged', body: 'hello, log' });
    ws = await startWsBackend({ name: 'ws' });
    const refused = `http://127.0.0.1:${await refusingPort()}`;
    await stack.setFrontend('json.test', 'json-site', backend.url);
    await stack.setFrontend('refused.json.test', 'refused-site', refused);
    await stack.setFrontend('empty.json.test', 'empty-site');
    await stack.setFrontend('*.twice.test', 'twice', refused, `http://127.0.0.1:${await refusingPort()}`);
    await stack.setFrontend('*.retry.test', 'retry', refused, backend.url);
    await stack.setFrontend('ws.json.test', 'ws-site', ws.url);
    await stack.setFrontend('slow.json.test', 'slow-site', (await startHttpBackend({ name: 'slow', delayMs: 1000 })).url);
  });

  test('a proxied request: exactly the fields of SPEC §8, with their values', async () => {
    const started = Date.now();
    const res = await stack.get('json.test', { path: '/p?q=1', headers: { 'user-agent': 'ua/1.0', referer: 'http://r.test/page' } });
    assert.equal(res.status, 200);
    const e = await entryFor(stack.accessLog, res.headers['x-request-id']);
    assert.deepEqual(Object.keys(e), FIELDS);
    const { time, duration_ms, upstream_ms, ...rest } = e;
    assert.deepEqual(rest, {
      client: '127.0.0.1', method: 'GET', host: 'json.test', path: '/p?q=1', protocol: 'HTTP/1.1', status: 200, bytes: 10,
      backend: backend.url, frontend: 'json.test', request_id: res.headers['x-request-id'], retries: 0, error: null,
      user_agent: 'ua/1.0', referer: 'http://r.test/page',
    });
    assert.ok(Math.abs(Date.parse(time) - started) < 60_000 && time === new Date(Date.parse(time)).toISOString(), `time ${time}`);
    assert.ok(typeof upstream_ms === 'number' && upstream_ms >= 0 && upstream_ms <= duration_ms, `upstream_ms ${upstream_ms} <= duration_ms ${duration_ms}`);
  });

  test('a request with a body (node:http serves it), its host as routed, null for headers not sent', async () => {
    const res = await stack.get('JSON.test:8080', { method: 'POST', path: '/form', body: 'abc' });
    const e = await entryFor(stack.accessLog, res.headers['x-request-id']);
    assert.deepEqual([e.method, e.host, e.path, e.status, e.bytes, e.user_agent, e.referer], ['POST', 'json.test', '/form', 200, 10, null, null]);
  });

  test('a 502: the backend that refused, the error code, the time spent on it', async () => {
    const res = await stack.get('refused.json.test');
    assert.equal(res.status, 502);
    const e = await entryFor(stack.accessLog, res.headers['x-request-id']);
    assert.deepEqual([e.status, e.error, e.frontend, e.retries, e.bytes], [502, 'NO_BACKEND_LEFT', 'refused.json.test', 0, res.body.length]);
    assert.match(e.backend, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(typeof e.upstream_ms, 'number');
    const empty = await stack.get('empty.json.test');
    const none = await entryFor(stack.accessLog, empty.headers['x-request-id']);
    assert.deepEqual([none.status, none.error, none.frontend, none.backend, none.upstream_ms], [502, 'NO_BACKENDS', 'empty.json.test', null, null]);
  });

  test('a 400 for an unknown host: no frontend, no backend, no upstream time', async () => {
    const res = await stack.get('Unknown.Invalid.', { path: '/x' });
    assert.equal(res.status, 400);
    const e = await entryFor(stack.accessLog, res.headers['x-request-id']);
    assert.deepEqual(Object.keys(e), FIELDS);
    assert.deepEqual([e.status, e.error, e.host, e.frontend, e.backend, e.upstream_ms, e.retries], [400, 'UNKNOWN_HOST', 'unknown.invalid', null, null, null, 0]);
  });

  test('retries: counted, and the backend is the last one tried', async () => {
    // Both backends refuse: one retry, then nothing is left.
    const failed = await stack.get('a.twice.test');
    const e = await entryFor(stack.accessLog, failed.headers['x-request-id']);
    assert.deepEqual([e.status, e.retries, e.error], [502, 1, 'NO_BACKEND_LEFT']);
    // One refuses, one answers: the first pick is random, so of 20 requests (each its own host, so
    // dead marks do not steer them) some are retried; those are logged as 200 from the good one.
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => stack.get(`r${i}.retry.test`)));
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    const logged = await Promise.all(answers.map((r) => entryFor(stack.accessLog, r.headers['x-request-id'])));
    const retried = logged.filter((l) => l.retries === 1);
    assert.ok(retried.length > 0, 'some request was retried');
    for (const l of retried) assert.deepEqual([l.status, l.backend, l.error, l.frontend], [200, backend.url, null, '*.retry.test']);
    for (const l of logged.filter((x) => x.retries === 0)) assert.equal(l.backend, backend.url);
  });

  test('a client gone before its answer: 499, as nginx logs it', async () => {
    await assert.rejects(stack.get('slow.json.test', { path: '/gone', headers: { 'X-Request-Id': 'gone-1' }, timeoutMs: 200 }), /timed out/);
    const e = await entryFor(stack.accessLog, 'gone-1');
    assert.deepEqual([e.status, e.bytes, e.path, e.error], [499, 0, '/gone', null]);
    assert.match(e.backend, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a WebSocket: one line when the tunnel closes, its duration, and the bytes each way', async () => {
    const client = await connectWs({ port: stack.proxy.port, host: 'ws.json.test', path: '/chat', headers: { 'X-Request-Id': 'ws-json-1' } });
    assert.equal(await client.echo('hello'), 'ws:hello');
    await delay(300);
    assert.equal(entries(stack.accessLog).find((l) => l.request_id === 'ws-json-1'), undefined, 'nothing logged while the tunnel is open');
    client.close();
    await client.waitClosed();
    const e = await entryFor(stack.accessLog, 'ws-json-1');
    assert.deepEqual(Object.keys(e), [...FIELDS, 'bytes_in', 'bytes_out']);
    assert.deepEqual([e.status, e.path, e.backend, e.frontend, e.error, e.retries], [101, '/chat', ws.url, 'ws.json.test', null, 0]);
    // A masked 5-byte frame from the client (11 bytes), an 8-byte one back (10), then the close frames.
    assert.ok(e.bytes_in >= 11 && e.bytes_out >= 10, `bytes_in ${e.bytes_in}, bytes_out ${e.bytes_out}`);
    assert.equal(e.bytes, e.bytes_out);
    assert.ok(e.duration_ms >= 300, `duration_ms ${e.duration_ms}`);
  });

  test('an upgrade refused by the proxy is logged too', async () => {
    const answer = await firstResponse(stack.proxy.port, 'GET / HTTP/1.1\r\nHost: nows.invalid\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Request-Id: ws-refused\r\n\r\n');
    assert.equal(answer.status, 400);
    const e = await entryFor(stack.accessLog, 'ws-refused');
    assert.deepEqual([e.status, e.error, e.bytes_in, e.bytes_out], [400, 'UNKNOWN_HOST', undefined, undefined]);
  });

  test('what a client writes cannot forge a field or a line', async () => {
    const hostile = '", "status": 999, "forged": "\\';
    const request = Buffer.from(`GET /a"b HTTP/1.1\r\nHost: json.test\r\nUser-Agent: ${hostile}\u00e9\r\nReferer: }{\r\n\r\n`, 'latin1');
    const res = await firstResponse(stack.proxy.port, request);
    assert.equal(res.status, 200);
    const e = await entryFor(stack.accessLog, res.headers['x-request-id']);
    assert.deepEqual(Object.keys(e), FIELDS);
    assert.deepEqual([e.path, e.user_agent, e.referer, e.status], ['/a"b', `${hostile}\u00e9`, '}{', 200]);
  });
});

describe('access log, combined', () => {
  let stack: Stack;
  let ws: WsBackend;

  before(async () => {
    stack = await startStack();
    ws = await startWsBackend({ name: 'ws' });
    await stack.setFrontend('ws.combined.test', 'ws-site', ws.url);
  });

  test('a line ends with the request id; a WebSocket adds bytes_in= and bytes_out=', async () => {
    const res = await stack.get('unknown.invalid', { path: '/combined-id' });
    const id = String(res.headers['x-request-id']);
    await waitFor(() => readLog(stack.accessLog).includes(`"GET /combined-id HTTP/1.1" 400 `), { message: 'the 400 logged' });
    assert.match(readLog(stack.accessLog), new RegExp(`"GET /combined-id HTTP/1\\.1" 400 \\d+ "-" "-" "${id}"\\n`));
    const client = await connectWs({ port: stack.proxy.port, host: 'ws.combined.test', path: '/tunnel', headers: { 'X-Request-Id': 'ws-comb-1' } });
    assert.equal(await client.echo('hi'), 'ws:hi');
    client.close();
    await client.waitClosed();
    const line = await waitFor(() => readLog(stack.accessLog).split('\n').find((l) => l.includes('"ws-comb-1"')), { message: 'the tunnel logged' });
    assert.match(line, /"GET \/tunnel HTTP\/1\.1" 101 (\d+) "-" "[^"]*" "ws-comb-1" bytes_in=(\d+) bytes_out=\1$/);
  });
});
