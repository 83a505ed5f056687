import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardRequestHeaders, forwardResponseHeaders, scanRequestHead } from '../../src/proxy/headers.js';

const client = { remoteAddress: '127.0.0.9', localPort: 8080, secure: false, trusted: true };
const pairs = (flat: string[] | null) => {
  assert.ok(flat);
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

describe('forwardRequestHeaders', () => {
  it('adds X-Forwarded-* when missing', () => {
    const out = pairs(forwardRequestHeaders(['Host', 'a.test'], client, undefined, null, false, 'rid-1'));
    assert.deepEqual(out, [
      ['Host', 'a.test'],
      ['X-Forwarded-For', '127.0.0.9'],
      ['X-Real-IP', '127.0.0.9'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Protocol', 'http'],
      ['X-Forwarded-Port', '8080'],
      ['X-Request-Id', 'rid-1'],
    ]);
  });

  it('never overwrites what the client sent', () => {
    const sent = ['Host', 'a', 'X-Forwarded-For', '1.1.1.1', 'x-real-ip', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Protocol', 'https', 'X-Forwarded-Port', '443'];
    assert.deepEqual(forwardRequestHeaders(sent, client, undefined, null, false, 'rid-1'), [...sent, 'X-Request-Id', 'rid-1']);
  });

  it('sends exactly one X-Request-Id, the one given, whatever the client sent', () => {
    const sent = ['Host', 'a', 'x-request-id', 'one', 'X-REQUEST-ID', 'two'];
    const ids = pairs(forwardRequestHeaders(sent, client, undefined, null, false, 'kept')).filter(([n]) => n.toLowerCase() === 'x-request-id');
    assert.deepEqual(ids, [['X-Request-Id', 'kept']]);
  });

  it("replaces an untrusted client's X-Forwarded-*, X-Real-IP and Forwarded with the proxy's own", () => {
    const untrusted = { ...client, remoteAddress: '203.0.113.7', trusted: false };
    const sent = [
      'Host', 'a', 'X-Forwarded-For', '1.1.1.1', 'x-real-ip', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Protocol', 'https',
      'X-Forwarded-Port', '443', 'X-Forwarded-Host', 'evil.test', 'Forwarded', 'for=1.1.1.1', 'X-Forwarded-For', '3.3.3.3', 'X-Kept', 'k',
    ];
    assert.deepEqual(pairs(forwardRequestHeaders(sent, untrusted, undefined, null, false, 'rid-1')), [
      ['Host', 'a'],
      ['X-Kept', 'k'],
      ['X-Forwarded-For', '203.0.113.7'],
      ['X-Real-IP', '203.0.113.7'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Protocol', 'http'],
      ['X-Forwarded-Port', '8080'],
      ['X-Request-Id', 'rid-1'],
    ]);
  });

  it('drops hop-by-hop headers and those the Connection header names', () => {
    const sent = ['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', '5', 'TE', 'trailers', 'Trailer', 'x', 'Proxy-Authorization', 'p', 'Upgrade', 'h2c', 'X-Secret', 's', 'X-Kept', 'k'];
    const names = pairs(forwardRequestHeaders(sent, client, 'keep-alive, X-Secret', null, false, 'rid-1')).map(([n]) => n);
    assert.deepEqual(names.slice(0, 2), ['Host', 'X-Kept']);
  });

  it('keeps Connection and Upgrade for a WebSocket handshake', () => {
    const sent = ['Host', 'a', 'Connection', 'Upgrade', 'Upgrade', 'websocket'];
    const names = pairs(forwardRequestHeaders(sent, client, 'Upgrade', null, true, 'rid-1')).map(([n]) => n);
    assert.ok(names.includes('Connection') && names.includes('Upgrade'));
  });

  it('rejects ambiguous framing', () => {
    assert.equal(forwardRequestHeaders(['Content-Length', '1', 'Transfer-Encoding', 'chunked'], client, undefined, null, false, 'rid-1'), null);
    assert.equal(forwardRequestHeaders(['Content-Length', '1', 'Content-Length', '2'], client, undefined, null, false, 'rid-1'), null);
    assert.equal(forwardRequestHeaders(['Transfer-Encoding', 'gzip, chunked'], client, undefined, null, false, 'rid-1'), null);
    assert.ok(forwardRequestHeaders(['Transfer-Encoding', 'chunked'], client, undefined, null, false, 'rid-1'));
  });

  it('replaces Host for an absolute-form target', () => {
    const out = pairs(forwardRequestHeaders(['Host', 'evil.test'], client, undefined, 'good.test', false, 'rid-1'));
    assert.deepEqual(out.filter(([n]) => n.toLowerCase() === 'host'), [['Host', 'good.test']]);
  });
});

describe('forwardResponseHeaders', () => {
  it('keeps repeated Set-Cookie and drops hop-by-hop', () => {
    const raw = ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Connection', 'close', 'Transfer-Encoding', 'chunked', 'Retry-After', '5'];
    const { headers, retryAfter } = forwardResponseHeaders(raw, -1, 'rid-1');
    assert.deepEqual(headers, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Retry-After', '5', 'X-Request-Id', 'rid-1']);
    assert.equal(retryAfter, true);
  });

  it("gives the client the request's X-Request-Id once, whether the backend echoed it or sent another", () => {
    for (const raw of [['X-Request-Id', 'rid-1'], ['x-request-id', 'other', 'X-Request-Id', 'rid-1'], []]) {
      assert.deepEqual(forwardResponseHeaders(raw, 0, 'rid-1').headers, ['Content-Length', '0', 'X-Request-Id', 'rid-1']);
    }
  });

  it("replaces the backend's Strict-Transport-Security with the vhost's, drops it for '', relays it for null", () => {
    const raw = ['strict-transport-security', 'max-age=5', 'Strict-Transport-Security', 'max-age=6; preload', 'Vary', 'Accept'];
    assert.deepEqual(forwardResponseHeaders(raw, -1, 'r', 'max-age=600').headers, ['Vary', 'Accept', 'Strict-Transport-Security', 'max-age=600', 'X-Request-Id', 'r']);
    assert.deepEqual(forwardResponseHeaders(raw, -1, 'r', '').headers, ['Vary', 'Accept', 'X-Request-Id', 'r']);
    assert.deepEqual(forwardResponseHeaders(raw, -1, 'r', null).headers, [...raw, 'X-Request-Id', 'r']);
  });
});

describe('scanRequestHead', () => {
  it('reads the first Host (and notes a second), every Connection, X-Debug and the body framing, names in any case', () => {
    const fields = scanRequestHead(['HOST', 'a.test', 'Host', 'b.test', 'connection', 'keep-alive', 'Connection', 'X-Secret', 'x-DEBUG', '1', 'Content-Length', '5']);
    assert.deepEqual(fields, { host: 'a.test', hostRepeated: true, connection: 'keep-alive, X-Secret', debug: true, hasBody: true, chunked: false, requestId: undefined, forwardedHttps: false });
    assert.equal(scanRequestHead(['Host', 'a.test']).hostRepeated, false);
  });

  it("reads X-Request-Id; a repeated one is '' (no id can be believed)", () => {
    assert.equal(scanRequestHead(['Host', 'a', 'x-REQUEST-id', 'abc']).requestId, 'abc');
    assert.equal(scanRequestHead(['Host', 'a', 'X-Request-Id', 'abc', 'X-Request-Id', 'def']).requestId, '');
    assert.equal(scanRequestHead(['Content-Type', 'text/plain', 'X-Request-Ix', 'abc']).requestId, undefined);
  });

  it('no body for a zero Content-Length or none; chunked for a transfer coding', () => {
    assert.equal(scanRequestHead(['Host', 'a', 'Content-Length', '0']).hasBody, false);
    assert.equal(scanRequestHead(['Host', 'a']).hasBody, false);
    assert.deepEqual(
      [scanRequestHead(['Transfer-Encoding', 'chunked']).hasBody, scanRequestHead(['Transfer-Encoding', 'chunked']).chunked],
      [true, true],
    );
    // Same-length names that are not the ones looked for are ignored.
    assert.deepEqual(scanRequestHead(['Hast', 'x', 'X-Debog', '1', 'Connectiom', 'close']), { host: undefined, hostRepeated: false, connection: undefined, debug: false, hasBody: false, chunked: false, requestId: undefined, forwardedHttps: false });
  });
});
