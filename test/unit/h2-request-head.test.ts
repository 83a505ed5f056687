import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readH2RequestHead, type H2RequestHead } from '../../src/proxy/h2/request-head.js';

const base = [':method', 'GET', ':scheme', 'https', ':authority', 'a.test', ':path', '/p?q=1'];
const head = (raw: string[], endStream = true): H2RequestHead => {
  const out = readH2RequestHead(raw, endStream);
  assert.ok(typeof out === 'object', `not refused: ${String(out)}`);
  return out;
};

describe('readH2RequestHead', () => {
  it('reads the pseudo-headers into method and target, and :authority into Host, first', () => {
    const out = head([...base, 'accept', '*/*']);
    assert.equal(out.method, 'GET');
    assert.equal(out.url, '/p?q=1');
    assert.deepEqual(out.rawHeaders, ['host', 'a.test', 'accept', '*/*']);
  });

  it(':authority wins over a Host field; without :authority the Host field is kept', () => {
    assert.deepEqual(head([...base, 'host', 'b.test']).rawHeaders, ['host', 'a.test']);
    assert.deepEqual(head([':method', 'GET', ':scheme', 'https', ':path', '/', 'host', 'b.test']).rawHeaders, ['host', 'b.test']);
  });

  it('joins the cookie fields with "; " (RFC 9113 §8.2.3)', () => {
    assert.deepEqual(head([...base, 'cookie', 'a=1', 'x', 'y', 'cookie', 'b=2']).rawHeaders, ['host', 'a.test', 'x', 'y', 'cookie', 'a=1; b=2']);
  });

  it('frames a body without Content-Length as chunked; keeps a Content-Length; no framing without a body', () => {
    const post = [':method', 'POST', ':scheme', 'https', ':authority', 'a.test', ':path', '/'];
    assert.deepEqual(head(post, false).rawHeaders, ['host', 'a.test', 'transfer-encoding', 'chunked']);
    assert.deepEqual(head([...post, 'content-length', '5'], false).rawHeaders, ['host', 'a.test', 'content-length', '5']);
    assert.deepEqual(head(post, true).rawHeaders, ['host', 'a.test']);
  });

  it('accepts "*" as the target of OPTIONS only, and TE: trailers', () => {
    assert.equal(head([':method', 'OPTIONS', ':scheme', 'https', ':authority', 'a.test', ':path', '*']).url, '*');
    assert.equal(readH2RequestHead([':method', 'GET', ':scheme', 'https', ':authority', 'a.test', ':path', '*'], true), 'malformed');
    assert.deepEqual(head([...base, 'te', 'trailers']).rawHeaders, ['host', 'a.test', 'te', 'trailers']);
  });

  it('tells an Expect: 100-continue with a body to come', () => {
    const post = [':method', 'POST', ':scheme', 'https', ':authority', 'a.test', ':path', '/', 'expect', '100-continue'];
    assert.equal(head(post, false).expectContinue, true);
    assert.equal(head(post, true).expectContinue, false);
  });

  it('refuses CONNECT', () => {
    assert.equal(readH2RequestHead([':method', 'CONNECT', ':authority', 'a.test:443'], false), 'connect');
  });

  const malformed: [string, string[]][] = [
    ['a connection-specific field', [...base, 'connection', 'close']],
    ['Keep-Alive', [...base, 'keep-alive', '5']],
    ['Proxy-Connection', [...base, 'proxy-connection', 'keep-alive']],
    ['Transfer-Encoding', [...base, 'transfer-encoding', 'chunked']],
    ['Upgrade', [...base, 'upgrade', 'websocket']],
    ['TE other than trailers', [...base, 'te', 'gzip']],
    ['an upper-case name', [...base, 'Accept', '*/*']],
    ['a repeated pseudo-header', [...base, ':authority', 'b.test']],
    ['a pseudo-header after a field', ['accept', '*/*', ...base]],
    ['an unknown pseudo-header', [...base, ':protocol', 'websocket']],
    [':path without "/"', [':method', 'GET', ':scheme', 'https', ':authority', 'a.test', ':path', 'p']],
    ['no :path', [':method', 'GET', ':scheme', 'https', ':authority', 'a.test']],
    ['no :scheme', [':method', 'GET', ':authority', 'a.test', ':path', '/']],
  ];
  for (const [what, raw] of malformed) {
    it(`is malformed with ${what}`, () => assert.equal(readH2RequestHead(raw, true), 'malformed'));
  }
});
