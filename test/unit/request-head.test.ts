// The fast front end's request-head check: what it serves itself and what it
// leaves to node:http (null).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSimpleRequestHead } from '../../src/proxy/front/request-head.js';

const parse = (text: string) => parseSimpleRequestHead(Buffer.from(text, 'latin1'));

describe('parseSimpleRequestHead', () => {
  test('a plain GET: method, target, headers as sent with values trimmed, length up to the blank line', () => {
    const text = 'GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com\r\nX-Two:  two words \t\r\nEmpty:\r\n\r\nNEXT';
    const head = parse(text);
    assert.deepEqual(head, {
      method: 'GET',
      url: '/a/b?c=d&e',
      rawHeaders: ['Host', 'example.com', 'X-Two', 'two words', 'Empty', ''],
      length: text.indexOf('NEXT'),
      contentLength: 0,
    });
  });

  test('a body of one plain Content-Length is served: its length is given, the body left after the head', () => {
    const text = 'POST /up HTTP/1.1\r\nHost: h\r\nContent-Length:  5 \r\n\r\nhello';
    const head = parse(text);
    assert.equal(head?.contentLength, 5);
    assert.equal(head?.length, text.indexOf('hello'));
    assert.equal(parse('PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 000000000000012\r\n\r\n')?.contentLength, 12);
  });

  test('every method the fast path serves, and Content-Length: 0', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      assert.equal(parse(`${method} / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`)?.method, method);
    }
  });

  test('two Host fields are served: the proxy itself answers them 400', () => {
    assert.notEqual(parse('GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n'), null);
  });

  test('obs-text in a value is kept, byte for byte', () => {
    assert.deepEqual(parse('GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9\r\n\r\n')?.rawHeaders, ['Host', 'h', 'X-Name', 'caf\xe9']);
  });

  const leftToNode: [string, string][] = [
    ['an incomplete head', 'GET / HTTP/1.1\r\nHost: h\r\n'],
    ['no Host', 'GET / HTTP/1.1\r\nX-Host: h\r\n\r\n'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: h\r\n\r\n'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['CONNECT', 'CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['an unknown method', 'PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['an absolute-form target', 'GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['an asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a non-ASCII target', 'GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['two Content-Length fields, even both 0', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\ncontent-length:0\r\n\r\n'],
    ['two Content-Length fields of one length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'],
    ['a Content-Length list', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello'],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello'],
    ['a Content-Length of 16 digits', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000000\r\n\r\n'],
    ['a zero Content-Length spelt "00"', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 00\r\n\r\n'],
    ['a chunked body', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['a Content-Length that is not a number', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n'],
    ['an upgrade', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['Expect', 'PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nX-A: one\r\n two\r\nHost: h\r\n\r\n'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n'],
    ['a header name that is not a token', 'GET / HTTP/1.1\r\nX(A): 1\r\nHost: h\r\n\r\n'],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost h\r\n\r\n'],
    ['a bare LF', 'GET / HTTP/1.1\nHost: h\r\n\r\n'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nX-A: a\rb\r\nHost: h\r\n\r\n'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nX-A: a\x00b\r\nHost: h\r\n\r\n'],
    ['an empty line before the request line', '\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a head over 16 KiB', `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(16 * 1024)}\r\n\r\n`],
  ];
  for (const [what, text] of leftToNode) test(`left to node:http: ${what}`, () => assert.equal(parse(text), null));
});
