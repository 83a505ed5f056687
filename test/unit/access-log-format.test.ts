import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { combinedLine, jsonLine } from '../../src/proxy/access-log-format.js';
import type { RequestOutcome } from '../../src/proxy/outcome.js';

/** The fields of SPEC §8, in its order. */
const FIELDS = ['time', 'client', 'method', 'host', 'path', 'protocol', 'status', 'bytes', 'duration_ms', 'upstream_ms', 'backend', 'frontend', 'request_id', 'retries', 'error', 'user_agent', 'referer'];

function outcome(o: Partial<RequestOutcome> = {}): RequestOutcome {
  return {
    req: { method: 'GET', url: '/p?q=1', httpVersion: '1.1', rawHeaders: ['Host', 'a.test', 'User-Agent', 'curl/8', 'Referer', 'http://r.test/'] },
    remoteAddress: '127.0.0.1',
    requestId: '0123456789abcdef0123456789abcdef',
    started: 1000,
    status: 200,
    bytes: 10,
    host: 'a.test',
    frontend: '*.test',
    backend: 'http://127.0.0.1:9000',
    upstreamStarted: 1001,
    upstreamEnded: 1003.5,
    retries: 1,
    error: null,
    bytesIn: -1,
    bytesOut: -1,
    ...o,
  };
}

describe('access log lines', () => {
  test('json: exactly the fields of SPEC §8, in order, with their values', () => {
    const line = jsonLine(outcome(), 1004.25);
    assert.ok(line.endsWith('}\n') && line.indexOf('\n') === line.length - 1, 'one line');
    const entry = JSON.parse(line);
    assert.deepEqual(Object.keys(entry), FIELDS);
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const { time: _time, ...rest } = entry;
    assert.deepEqual(rest, {
      client: '127.0.0.1', method: 'GET', host: 'a.test', path: '/p?q=1', protocol: 'HTTP/1.1', status: 200, bytes: 10,
      duration_ms: 4.25, upstream_ms: 2.5, backend: 'http://127.0.0.1:9000', frontend: '*.test', request_id: '0123456789abcdef0123456789abcdef',
      retries: 1, error: null, user_agent: 'curl/8', referer: 'http://r.test/',
    });
  });

  test('json: null where unknown (no route, no backend tried, no headers)', () => {
    const entry = JSON.parse(jsonLine(outcome({ req: { method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: [] }, frontend: null, backend: null, upstreamStarted: -1, upstreamEnded: -1, retries: 0, error: 'UNKNOWN_HOST', status: 400 }), 1001));
    assert.deepEqual([entry.frontend, entry.backend, entry.upstream_ms, entry.user_agent, entry.referer, entry.error], [null, null, null, null, null, 'UNKNOWN_HOST']);
  });

  test('json: a WebSocket tunnel adds bytes_in and bytes_out', () => {
    const entry = JSON.parse(jsonLine(outcome({ status: 101, bytesIn: 7, bytesOut: 9, bytes: 9 }), 2000));
    assert.deepEqual(Object.keys(entry), [...FIELDS, 'bytes_in', 'bytes_out']);
    assert.deepEqual([entry.bytes_in, entry.bytes_out, entry.bytes], [7, 9, 9]);
  });

  test('json: what a client wrote cannot end a field, add one, or start a line', () => {
    const hostile = '", "status": 999, "x": "\\\n{"forged":true}\u0001\u00e9';
    const entry = JSON.parse(jsonLine(outcome({ req: { method: 'GET', url: '/a"b\\c', httpVersion: '1.1', rawHeaders: ['User-Agent', hostile, 'Referer', hostile] }, host: hostile, requestId: '"\\x' }), 1005));
    assert.deepEqual(Object.keys(entry), FIELDS);
    assert.deepEqual([entry.user_agent, entry.referer, entry.host, entry.path, entry.request_id, entry.status], [hostile, hostile, hostile, '/a"b\\c', '"\\x', 200]);
  });

  test('combined: nginx combined, then the request id; a tunnel adds bytes_in= and bytes_out=', () => {
    assert.match(
      combinedLine(outcome()),
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/p\?q=1 HTTP\/1\.1" 200 10 "http:\/\/r\.test\/" "curl\/8" "0123456789abcdef0123456789abcdef"\n$/,
    );
    assert.match(combinedLine(outcome({ status: 101, bytesIn: 7, bytesOut: 9, bytes: 9 })), /" 101 9 .* bytes_in=7 bytes_out=9\n$/);
  });

  test('combined: quotes, backslashes and control bytes are escaped as nginx escapes them', () => {
    const line = combinedLine(outcome({ req: { method: 'GET', url: '/"x', httpVersion: '1.1', rawHeaders: ['User-Agent', 'a"b\\c\nd'] }, requestId: 'r"1' }));
    assert.equal(line.split('\n').length, 2, 'one line');
    assert.ok(line.includes('"GET /\\x22x HTTP/1.1"') && line.includes('"a\\x22b\\x5Cc\\x0Ad"') && line.endsWith('"r\\x221"\n'), line);
  });
});
