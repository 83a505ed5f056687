import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseParseError, ResponseParser, type ResponseHead } from '../../src/proxy/upstream/response-parser.js';

interface Parsed {
  heads: ResponseHead[];
  body: string;
  complete: number;
  lastFlags: boolean[];
}

function parser(): { p: ResponseParser; out: Parsed } {
  const out: Parsed = { heads: [], body: '', complete: 0, lastFlags: [] };
  const p = new ResponseParser({
    onHead: (h) => out.heads.push(h),
    onBody: (c, last) => {
      out.body += c.toString('latin1');
      out.lastFlags.push(last);
    },
    onComplete: () => out.complete++,
  });
  return { p, out };
}

/** Feeds `wire` whole, then split at every position, then a byte at a time: the outcome must not depend on packet boundaries. */
function everySplit(wire: string, head = false, check: (out: Parsed, p: ResponseParser) => void): void {
  const bytes = Buffer.from(wire, 'latin1');
  const splits: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) splits.push([bytes.subarray(0, i), bytes.subarray(i)]);
  splits.push([...bytes].map((b) => Buffer.from([b])));
  for (const parts of splits) {
    const { p, out } = parser();
    p.expect(head);
    for (const part of parts) p.execute(part);
    check(out, p);
  }
}

describe('ResponseParser', () => {
  it('Content-Length body, headers kept in order and case, the last chunk flagged', () => {
    everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 5\r\n\r\nhello', false, (out, p) => {
      assert.equal(out.heads.length, 1);
      assert.equal(out.heads[0]!.status, 200);
      assert.equal(out.heads[0]!.statusText, 'OK');
      assert.deepEqual(out.heads[0]!.headers, ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Length', '5']);
      assert.equal(out.heads[0]!.keepAlive, true);
      assert.equal(out.body, 'hello');
      assert.equal(out.complete, 1);
      assert.equal(out.lastFlags.at(-1), true);
      assert.ok(out.lastFlags.slice(0, -1).every((f) => !f));
      assert.equal(p.complete, true);
      assert.equal(p.extraData, false);
    });
  });

  it('chunked body with extensions and trailers is decoded', () => {
    everySplit('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n', false, (out) => {
      assert.equal(out.body, 'hello, world!!!');
      assert.equal(out.complete, 1);
      assert.equal(out.heads[0]!.keepAlive, true);
    });
  });

  it('interim 1xx answers are skipped; the final answer follows', () => {
    everySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', false, (out) => {
      assert.deepEqual(out.heads.map((h) => h.status), [201]);
      assert.equal(out.body, 'ok');
    });
  });

  it('HEAD, 204 and 304 answers have no body whatever they declare', () => {
    everySplit('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', true, (out, p) => {
      assert.equal(out.complete, 1);
      assert.equal(out.body, '');
      assert.equal(p.complete, true);
    });
    everySplit('HTTP/1.1 204 No Content\r\n\r\n', false, (out) => assert.equal(out.complete, 1));
    everySplit('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', false, (out) => assert.equal(out.complete, 1));
  });

  it('no length and no coding: the body runs until the connection ends, and the connection is not reused', () => {
    everySplit('HTTP/1.1 200 OK\r\n\r\nstreamed', false, (out, p) => {
      assert.equal(out.heads[0]!.keepAlive, false);
      assert.equal(out.complete, 0);
      assert.equal(p.readsUntilClose, true);
      p.end();
      assert.equal(out.complete, 1);
      assert.equal(out.body, 'streamed');
    });
  });

  it('keep-alive follows the version and Connection tokens', () => {
    const keep = (wire: string) => {
      const { p, out } = parser();
      p.expect(false);
      p.execute(Buffer.from(wire));
      return out.heads[0]!.keepAlive;
    };
    assert.equal(keep('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), true);
    assert.equal(keep('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keep('HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keep('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keep('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n'), true);
    // Both framings: Transfer-Encoding wins and the connection is closed after (RFC 9112 §6.3).
    assert.equal(keep('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), false);
  });

  it('bytes past the end of the answer are noticed (the connection cannot be reused)', () => {
    const { p, out } = parser();
    p.expect(false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA'));
    assert.equal(out.body, 'ok');
    assert.equal(p.extraData, true);
  });

  it('a connection closed mid-body is an error', () => {
    const { p } = parser();
    p.expect(false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    assert.throws(() => p.end(), ResponseParseError);
  });

  it('malformed answers are rejected with BAD_RESPONSE', () => {
    const bad = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 2000 OK\r\n\r\n',
      'ICY 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n',
      'HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad : x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    ];
    for (const wire of bad) {
      const { p } = parser();
      p.expect(false);
      assert.throws(() => p.execute(Buffer.from(wire)), (err: unknown) => err instanceof ResponseParseError && err.code === 'BAD_RESPONSE', wire);
    }
  });

  it('a head larger than 64 KiB is rejected without waiting for its end', () => {
    const { p } = parser();
    p.expect(false);
    assert.throws(() => p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}`)), ResponseParseError);
  });

  it('one parser serves consecutive answers on a kept-alive connection', () => {
    const { p, out } = parser();
    for (let i = 0; i < 3; i++) {
      p.expect(false);
      p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${i}`));
    }
    assert.equal(out.body, '012');
    assert.equal(out.complete, 3);
  });

  it('the length to relay: the parsed length, the declared one for HEAD and 304, none for chunked or until-close bodies and 204', () => {
    const lengthOf = (wire: string, head = false): number => {
      const { p, out } = parser();
      p.expect(head);
      p.execute(Buffer.from(wire, 'latin1'));
      return out.heads[0]!.contentLength;
    };
    assert.equal(lengthOf('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), 5);
    assert.equal(lengthOf('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true), 5);
    assert.equal(lengthOf('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n'), 9);
    assert.equal(lengthOf('HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n'), -1);
    assert.equal(lengthOf('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), -1);
    assert.equal(lengthOf('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n'), -1, 'chunked wins; its Content-Length is never relayed');
    assert.equal(lengthOf('HTTP/1.1 200 OK\r\n\r\n'), -1);
  });

  it('refuses what cannot be relayed faithfully: a status that is not three digits, a coding other than chunked, two codings, endless interim answers or trailers', () => {
    const refused = [
      'HTTP/1.1 2e2 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 +20 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\n'.repeat(17) + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n' + 'X-T: aaaaaaaaaaaaaaaa\r\n'.repeat(4000) + '\r\n',
    ];
    for (const wire of refused) {
      const { p } = parser();
      p.expect(false);
      assert.throws(() => p.execute(Buffer.from(wire, 'latin1')), ResponseParseError, JSON.stringify(wire.slice(0, 60)));
    }
    const { p, out } = parser();
    p.expect(false);
    p.execute(Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'.repeat(16) + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1'));
    assert.equal(out.heads[0]?.status, 200, '16 interim answers are still fine');
  });
});
