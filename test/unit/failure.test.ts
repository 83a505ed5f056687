// failure.ts: one classifier for HTTP requests and WebSocket upgrades, from a
// raw socket error to a finite code, and from a code to a verdict.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendTarget } from '../../src/frontends/backend.js';
import { parseBackend } from '../../src/frontends/backend.js';
import { BACKEND_FAILURES, isIdempotent, isUnhealthyStatus, judge, socketFailure, type BackendFailure } from '../../src/proxy/failure.js';
import { backendSocketOptions } from '../../src/proxy/upstream/dial.js';

describe('socket errors map to a finite set of failures', () => {
  const cases: [string | undefined, boolean, BackendFailure][] = [
    ['ECONNREFUSED', false, 'CONNECT_REFUSED'],
    ['EHOSTUNREACH', false, 'HOST_UNREACHABLE'],
    ['ENETUNREACH', false, 'HOST_UNREACHABLE'],
    ['ENOTFOUND', false, 'DNS_FAILURE'],
    ['EAI_AGAIN', false, 'DNS_FAILURE'],
    ['ETIMEDOUT', false, 'CONNECT_TIMEOUT'],
    ['ETIMEDOUT', true, 'HEADERS_TIMEOUT'],
    ['ECONNRESET', false, 'CONNECTION_RESET'],
    ['ECONNRESET', true, 'CONNECTION_RESET'],
    ['EPIPE', true, 'CONNECTION_RESET'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false, 'TLS_FAILURE'],
    ['SELF_SIGNED_CERT_IN_CHAIN', false, 'TLS_FAILURE'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', false, 'TLS_FAILURE'],
    ['CERT_HAS_EXPIRED', false, 'TLS_FAILURE'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', false, 'TLS_FAILURE'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', false, 'TLS_FAILURE'],
    ['EPROTO', false, 'TLS_FAILURE'],
    ['EMFILE', false, 'SOCKET_ERROR'],
    ['ESOMETHINGNEW', true, 'SOCKET_ERROR'],
    ['constructor', false, 'SOCKET_ERROR'],
    [undefined, false, 'SOCKET_ERROR'],
  ];
  for (const [code, connected, failure] of cases) {
    test(`${code ?? 'no code'}${connected ? ' once connected' : ''} is ${failure}`, () => {
      assert.equal(socketFailure({ code }, connected), failure);
    });
  }

  test('an arbitrary socket code never becomes a code of its own', () => {
    for (const code of ['E2BIG', 'ERR_STREAM_DESTROYED', '<script>', '']) {
      assert.ok(BACKEND_FAILURES.includes(socketFailure({ code }, false)), code);
    }
  });
});

describe('the verdict on a failed attempt', () => {
  const fresh = (f: BackendFailure) => judge(f, false, true, true);

  test('refused, unreachable, unresolved: retry elsewhere and mark dead; 502 when none is left', () => {
    for (const f of ['CONNECT_REFUSED', 'HOST_UNREACHABLE', 'DNS_FAILURE'] as const) {
      assert.deepEqual({ ...fresh(f) }, { retry: true, markDead: true, status: 502, code: 'BACKEND_UNAVAILABLE' }, f);
    }
  });

  test('a connect timeout: retry elsewhere and mark dead; 504 when none is left', () => {
    assert.deepEqual({ ...fresh('CONNECT_TIMEOUT') }, { retry: true, markDead: true, status: 504, code: 'BACKEND_TIMEOUT' });
  });

  test('a connection reset or closed before any answer: an idempotent request is retried, never marked', () => {
    for (const f of ['CONNECTION_RESET', 'UPSTREAM_CLOSED'] as const) {
      assert.deepEqual({ ...fresh(f) }, { retry: true, markDead: false, status: 502, code: 'BACKEND_UNAVAILABLE' }, f);
    }
  });

  test('a POST (not idempotent) is retried only when it never reached a backend', () => {
    const post = (f: BackendFailure) => judge(f, false, true, false);
    for (const f of ['CONNECT_REFUSED', 'HOST_UNREACHABLE', 'DNS_FAILURE', 'CONNECT_TIMEOUT', 'TLS_FAILURE'] as const) assert.equal(post(f).retry, true, f);
    for (const f of ['CONNECTION_RESET', 'UPSTREAM_CLOSED'] as const) {
      assert.deepEqual({ ...post(f) }, { retry: false, markDead: false, status: 502, code: 'BACKEND_UNAVAILABLE' }, f);
    }
  });

  test('idempotent methods are those of RFC 9110 §9.2.2', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.ok(isIdempotent(m), m);
    for (const m of ['POST', 'PATCH', 'CONNECT', 'PROPFIND', 'get']) assert.ok(!isIdempotent(m), m);
  });

  test('a TLS failure: retry elsewhere (nothing was sent), never mark (trust is this instance\'s, marks are shared)', () => {
    assert.deepEqual({ ...fresh('TLS_FAILURE') }, { retry: true, markDead: false, status: 502, code: 'TLS_FAILURE' });
  });

  test('a headers or body timeout: mark dead, 504, no retry', () => {
    for (const f of ['HEADERS_TIMEOUT', 'BODY_TIMEOUT'] as const) {
      assert.deepEqual({ ...fresh(f) }, { retry: false, markDead: true, status: 504, code: 'BACKEND_TIMEOUT' }, f);
    }
  });

  test('a bad or truncated answer, a proxy shutting down, an unknown error: 502, no retry, no mark', () => {
    for (const f of ['BAD_RESPONSE', 'RESPONSE_TRUNCATED', 'POOL_CLOSED', 'SOCKET_ERROR'] as const) {
      assert.deepEqual({ ...fresh(f) }, { retry: false, markDead: false, status: 502, code: f }, f);
    }
  });

  test('a client that stalls (its body, or reading the answer): 408, no retry, the backend never marked', () => {
    for (const f of ['CLIENT_BODY_TIMEOUT', 'CLIENT_READ_TIMEOUT'] as const) {
      assert.deepEqual({ ...judge(f, false, false) }, { retry: false, markDead: false, status: 408, code: f }, f);
    }
  });

  test('once the answer started, nothing is retried and the client connection is dropped (no status); marking is unchanged', () => {
    for (const f of BACKEND_FAILURES) {
      const v = judge(f, true, true, true);
      assert.equal(v.retry, false, f);
      assert.equal(v.status, null, f);
      assert.equal(v.markDead, fresh(f).markDead, f);
    }
  });

  test('a request body partly sent cannot be sent again: no retry, the status of the failure', () => {
    for (const f of BACKEND_FAILURES) {
      const v = judge(f, false, false, true);
      assert.equal(v.retry, false, f);
      assert.deepEqual([v.status, v.code, v.markDead], [fresh(f).status, fresh(f).code, fresh(f).markDead], f);
    }
  });

  test('judging allocates nothing: the same verdict object each time', () => {
    assert.equal(judge('CONNECT_REFUSED', false, true, false), judge('CONNECT_REFUSED', false, true, false));
    assert.ok(Object.isFrozen(judge('CONNECT_REFUSED', false, true, false)));
  });
});

describe('unhealthy answers', () => {
  const on500 = { deadBackendOn500: true };
  const off500 = { deadBackendOn500: false };

  test('502, 504 and 503 without Retry-After mark; 503 with Retry-After and 4xx do not', () => {
    assert.ok(isUnhealthyStatus(502, false, off500));
    assert.ok(isUnhealthyStatus(504, true, off500));
    assert.ok(isUnhealthyStatus(503, false, off500));
    assert.ok(!isUnhealthyStatus(503, true, off500));
    assert.ok(!isUnhealthyStatus(404, false, on500));
    assert.ok(!isUnhealthyStatus(200, false, on500));
  });

  test('500 marks only with deadBackendOn500', () => {
    assert.ok(isUnhealthyStatus(500, false, on500));
    assert.ok(!isUnhealthyStatus(500, false, off500));
  });
});

describe('backend socket options (shared by HTTP and WebSocket)', () => {
  const target = (url: string): BackendTarget => parseBackend(url)!;

  test('TLS SNI carries a host name', () => {
    assert.deepEqual(backendSocketOptions(target('https://api.internal:8443')), { host: 'api.internal', port: 8443, noDelay: true, servername: 'api.internal' });
  });

  test('never an IP literal as SNI, IPv4 or IPv6', () => {
    assert.deepEqual(backendSocketOptions(target('https://127.0.0.1:8443')), { host: '127.0.0.1', port: 8443, noDelay: true });
    assert.deepEqual(backendSocketOptions(target('https://[::1]:8443')), { host: '::1', port: 8443, noDelay: true });
  });

  test('plain HTTP has no TLS options; an IPv6 literal loses its brackets', () => {
    assert.deepEqual(backendSocketOptions(target('http://localhost')), { host: 'localhost', port: 80, noDelay: true });
    assert.deepEqual(backendSocketOptions(target('http://[::1]:8080')), { host: '::1', port: 8080, noDelay: true });
  });
});
