// Request smuggling and response desync (issue 11, items 1, 2, 7, 10): a
// matrix of hostile requests and hostile backend answers, checked at both
// ends. A raw backend records every byte the proxy sends it and reads them as
// a strict server would; raw clients record every byte they get back. After
// each case an innocent client on a connection of its own must get its own
// answer (a request smuggled onto a pooled backend connection would answer
// it instead). npm test runs this file under both front ends.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RawConnection, type RawResponse } from '../helpers/http.js';
import { echoAnswer, header, startRawBackend, type ParsedRequest, type RawBackend } from '../helpers/raw-backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** Everything the proxy sends back on one connection for `bytes`, until it closes or stays quiet for `quietMs`. */
function exchange(port: number, bytes: string | Buffer, quietMs = 250): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let timer = setTimeout(() => finish(false), 3000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: data, closed });
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
  });
}

/** The status codes of the responses in `text`, in order, each framed by its Content-Length or chunked coding. */
function statuses(text: string): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\r\n\r\n', pos);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(text.slice(pos, pos + 16));
    if (end === -1 || status === null) break;
    out.push(Number(status[1]));
    const head = text.slice(pos, end);
    pos = end + 4;
    const length = /^content-length: *(\d+)$/im.exec(head);
    if (/^transfer-encoding: *chunked$/im.test(head)) {
      for (let size = -1; size !== 0; ) {
        const eol = text.indexOf('\r\n', pos);
        size = parseInt(text.slice(pos, eol), 16);
        pos = eol + 2 + (size === 0 ? 2 : size + 2);
      }
    } else if (length !== null) pos += Number(length[1]);
    else if (!/^HTTP\/1\.[01] (1\d\d|204|304)/.test(head)) break; // to the close
  }
  return out;
}

describe('request smuggling: what reaches the backend', () => {
  let stack: Stack;
  let backend: RawBackend;
  let seq = 0;

  before(async () => {
    stack = await startStack();
    backend = await startRawBackend();
    await stack.setFrontend('known.test', 'known', backend.url);
    await stack.setFrontend('other.test', 'other', backend.url);
  });

  /**
   * Sends `raw`; then the backend must have read no ambiguous message and no
   * request for /smuggled, and an innocent request on another connection must
   * get its own answer. Returns the statuses the client got and the requests the backend read.
   */
  async function probe(raw: string): Promise<{ statuses: number[]; forwarded: ParsedRequest[]; text: string }> {
    const from = backend.requests.length;
    const anomalies = backend.anomalies.length;
    const got = await exchange(stack.proxy.port, raw);
    const innocent = `/innocent-${++seq}`;
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(`GET ${innocent} HTTP/1.1\r\nHost: known.test\r\n\r\n`);
      const res = await conn.readResponse();
      assert.equal(res.status, 200, `the innocent request after ${JSON.stringify(raw.slice(0, 80))}`);
      assert.equal(JSON.parse(res.body.toString()).path, innocent, 'the innocent client got the answer to its own request');
    } finally {
      conn.close();
    }
    const forwarded = backend.requests.slice(from).filter((r) => r.path !== innocent);
    assert.deepEqual(backend.anomalies.slice(anomalies), [], 'the backend read nothing ambiguous');
    assert.deepEqual(forwarded.filter((r) => r.path.includes('smuggled')), [], 'no smuggled request reached the backend');
    return { statuses: statuses(got.text), forwarded, text: got.text };
  }

  const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: other.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n';

  /** Cases the proxy must refuse with 400 before any byte reaches a backend. */
  const refused: [string, string][] = [
    ['CL.TE: Content-Length and Transfer-Encoding', `POST /cl-te HTTP/1.1\r\nHost: known.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['TE.CL: Transfer-Encoding then Content-Length', `POST /te-cl HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(SMUGGLED.length).toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
    ['two different Content-Lengths', `POST /two-cl HTTP/1.1\r\nHost: known.test\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
    ['two Content-Length: 0 (the fast front end reads it itself)', `GET /two-cl0 HTTP/1.1\r\nHost: known.test\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding: xchunked with a length', `POST /xchunked HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding: chunked, identity', `POST /te-list HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding: identity', `POST /te-identity HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: identity\r\n\r\n${SMUGGLED}`],
    ['two Transfer-Encoding fields', `POST /two-te HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['a space before the colon of Transfer-Encoding', `POST /te-space HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding folded onto the line before (obs-fold)', `POST /obs-fold HTTP/1.1\r\nHost: known.test\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['a Content-Length folded onto a second line', `POST /cl-fold HTTP/1.1\r\nHost: known.test\r\nContent-Length: 5\r\n 6\r\n\r\nhello${SMUGGLED}`],
    ['Content-Length: +5', `POST /cl-plus HTTP/1.1\r\nHost: known.test\r\nContent-Length: +5\r\n\r\nhello${SMUGGLED}`],
    ['Content-Length: -1', `POST /cl-neg HTTP/1.1\r\nHost: known.test\r\nContent-Length: -1\r\n\r\n${SMUGGLED}`],
    ['Content-Length: 0x5', `POST /cl-hex HTTP/1.1\r\nHost: known.test\r\nContent-Length: 0x5\r\n\r\nhello${SMUGGLED}`],
    ['Content-Length: 5, 5 (a list)', `POST /cl-list HTTP/1.1\r\nHost: known.test\r\nContent-Length: 5, 5\r\n\r\nhello${SMUGGLED}`],
    ['a chunk size that overflows', `POST /chunk-overflow HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff1\r\nx\r\n0\r\n\r\n${SMUGGLED}`],
    ['a chunk size with a bad character', `POST /chunk-bad HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
    ['a request line with a bare LF', `GET /bare-lf HTTP/1.1\nHost: known.test\n\n${SMUGGLED}`],
    ['a NUL in a header value', `GET /nul HTTP/1.1\r\nHost: known.test\r\nX-A: a\u0000b\r\n\r\n${SMUGGLED}`],
    ['two Host fields', `GET /two-hosts HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\n\r\n${SMUGGLED}`],
  ];

  for (const [name, raw] of refused) {
    test(`refused: ${name}`, async () => {
      const { statuses: got, forwarded } = await probe(raw);
      assert.equal(got[0], 400, `the client's first answer (got ${got.join(', ') || 'none'})`);
      assert.deepEqual(forwarded, [], 'nothing of it reached the backend');
    });
  }

  test('Connection: content-length cannot drop the framing: the body goes as the body of one request', async () => {
    const raw = `POST /named-cl HTTP/1.1\r\nHost: known.test\r\nConnection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    const { statuses: got, forwarded } = await probe(raw);
    assert.deepEqual(got, [200]);
    assert.deepEqual(forwarded.map((r) => [r.path, r.body.length, header(r, 'content-length')]), [['/named-cl', SMUGGLED.length, [String(SMUGGLED.length)]]]);
  });

  test('Connection: host cannot drop Host; Connection: x-forwarded-for cannot drop the forwarded headers', async () => {
    const { forwarded } = await probe('GET /named-host HTTP/1.1\r\nHost: known.test\r\nConnection: host, x-forwarded-for, x-real-ip\r\n\r\n');
    assert.equal(forwarded.length, 1);
    assert.deepEqual(header(forwarded[0]!, 'host'), ['known.test']);
    assert.equal(header(forwarded[0]!, 'x-forwarded-for').length, 1);
    assert.equal(header(forwarded[0]!, 'x-real-ip').length, 1);
  });

  test('a chunked body is forwarded re-framed by the proxy, extensions and trailers dropped, nothing after it', async () => {
    const raw = `POST /chunked HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked\r\n\r\n5;ext="a;b"\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n`;
    const { statuses: got, forwarded } = await probe(raw);
    assert.deepEqual(got, [200]);
    assert.deepEqual(forwarded.map((r) => [r.path, r.body.toString()]), [['/chunked', 'hello']]);
  });

  test('pipelined: a good request, then a CL.TE one: the first is answered, the second refused, nothing smuggled', async () => {
    const raw = `GET /first HTTP/1.1\r\nHost: known.test\r\n\r\nPOST /second HTTP/1.1\r\nHost: known.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`;
    const { statuses: got, forwarded } = await probe(raw);
    assert.deepEqual(got, [200, 400]);
    assert.deepEqual(forwarded.map((r) => r.path), ['/first']);
  });

  test('an upgrade the backend answers with 200 is an ordinary answer: the next request on that connection is not tunnelled', async () => {
    const raw = `GET /upgrade HTTP/1.1\r\nHost: known.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${SMUGGLED}`;
    const { statuses: got, forwarded, text } = await probe(raw);
    assert.deepEqual(got, [200], text.slice(0, 300));
    assert.deepEqual(forwarded.map((r) => r.path), ['/upgrade'], 'the bytes after the answered upgrade went nowhere');
  });
});

describe('response desync: what each client receives', () => {
  let stack: Stack;
  let backend: RawBackend;

  /** Hostile answers by path; any other path gets the echo answer. */
  const HOSTILE: Record<string, string> = {
    '/cl-and-te': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk('ok' + 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhijack!') + '0\r\n\r\n',
    '/te-gzip': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\nhello',
    '/two-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    '/status-2e2': 'HTTP/1.1 2e2 OK\r\nContent-Length: 2\r\n\r\nok',
    '/extra-bytes': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhijack!',
    '/204-with-body': 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhijack!',
    '/interim-flood': 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(40) + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    '/huge-head': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\nContent-Length: 2\r\n\r\nok`,
    '/named-cl': 'HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\nok',
  };

  before(async () => {
    stack = await startStack();
    backend = await startRawBackend((req, socket) => {
      const hostile = HOSTILE[req.path];
      if (hostile === undefined) return echoAnswer(req, socket);
      if (req.path === '/te-gzip') setTimeout(() => socket.end(), 50); // a coded body runs to the close
      return hostile;
    });
    await stack.setFrontend('answers.test', 'answers', backend.url);
  });

  /** The hostile answer, then a second request on the same client connection. */
  async function twoOnOneConnection(path: string, method = 'GET'): Promise<{ first: RawResponse | null; firstRaw: string; second: RawResponse | null }> {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      conn.write(`${method} ${path} HTTP/1.1\r\nHost: answers.test\r\n\r\n`);
      let first: RawResponse | null = null;
      try {
        first = await conn.readResponse({ head: method === 'HEAD', timeoutMs: 3000 });
      } catch {
        return { first: null, firstRaw: '', second: null };
      }
      if (conn.isClosed) return { first, firstRaw: '', second: null };
      conn.write('GET /second HTTP/1.1\r\nHost: answers.test\r\n\r\n');
      let second: RawResponse | null = null;
      try {
        second = await conn.readResponse({ timeoutMs: 3000 });
      } catch {
        second = null; // closed: no answer is better than someone else's
      }
      return { first, firstRaw: '', second };
    } finally {
      conn.close();
    }
  }

  /** The second answer on the connection, if any, is the backend's answer to /second. */
  function secondIsOwn(second: RawResponse | null): void {
    if (second === null) return;
    assert.equal(second.status, 200);
    assert.equal(JSON.parse(second.body.toString()).path, '/second', `the second request got: ${second.body.toString().slice(0, 100)}`);
  }

  test('Content-Length with chunked: de-chunked and re-framed by the proxy; the rest of the body is not the next answer', async () => {
    const { first, second } = await twoOnOneConnection('/cl-and-te');
    assert.equal(first?.status, 200);
    assert.equal(first?.body.toString(), 'ok' + 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhijack!', 'the whole body, as the backend framed it');
    assert.notEqual(first?.headers['content-length'], '2', 'never the backend Content-Length');
    secondIsOwn(second);
  });

  test('a transfer coding other than chunked cannot be relayed: 502', async () => {
    const { first, second } = await twoOnOneConnection('/te-gzip');
    assert.equal(first?.status, 502);
    secondIsOwn(second);
  });

  test('two identical Content-Lengths reach the client as one', async () => {
    const conn = await RawConnection.open(stack.proxy.port);
    try {
      const raw: Buffer[] = [];
      conn.socket.on('data', (d: Buffer) => raw.push(d));
      conn.write('GET /two-cl HTTP/1.1\r\nHost: answers.test\r\n\r\n');
      const res = await conn.readResponse();
      assert.equal(res.body.toString(), 'hello');
      assert.equal(Buffer.concat(raw).toString('latin1').match(/^content-length:/gim)?.length ?? 0, 1);
    } finally {
      conn.close();
    }
  });

  test('a status line such as "2e2" is not a status: 502', async () => {
    const { first, second } = await twoOnOneConnection('/status-2e2');
    assert.equal(first?.status, 502);
    secondIsOwn(second);
  });

  test('bytes after a complete answer are not the next answer', async () => {
    const { first, second } = await twoOnOneConnection('/extra-bytes');
    assert.equal(first?.body.toString(), 'ok');
    secondIsOwn(second);
  });

  test('a 204 followed by more bytes: no body, and the bytes are not the next answer', async () => {
    const { first, second } = await twoOnOneConnection('/204-with-body');
    assert.equal(first?.status, 204);
    secondIsOwn(second);
  });

  test('a HEAD answer with a body: the body never reaches the client as the next answer', async () => {
    const { second } = await twoOnOneConnection('/extra-bytes', 'HEAD');
    secondIsOwn(second);
  });

  test('40 interim answers in a row: 502', async () => {
    const { first, second } = await twoOnOneConnection('/interim-flood');
    assert.equal(first?.status, 502);
    secondIsOwn(second);
  });

  test('an answer head of 100 KiB: 502', async () => {
    const { first, second } = await twoOnOneConnection('/huge-head');
    assert.equal(first?.status, 502);
    secondIsOwn(second);
  });

  test('Connection: content-length in an answer does not drop its framing', async () => {
    const { first, second } = await twoOnOneConnection('/named-cl');
    assert.equal(first?.body.toString(), 'ok');
    secondIsOwn(second);
  });

  after(() => {
    assert.deepEqual(backend.anomalies, [], 'the backend read nothing ambiguous');
  });
});

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

