// SPEC §3: ambiguous framing never reaches a backend (request smuggling), and
// no request can make the proxy connect anywhere but a configured backend.
// node:http's parser refuses most ambiguous heads before the proxy sees them;
// the fast front end (src/proxy/front/) reads some of them itself, and there
// the proxy's own checks are all that stands between them and a backend.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { countedBackend, startHttpBackend, type Backend, type Counted } from '../helpers/backends.js';
import { fastFrontDid, fastFrontOn, frontMeter } from '../helpers/front.js';
import { firstResponse } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** Refused by node:http's parser, whichever front end reads them. */
const CL_WITH_TE =
  'POST /smuggle HTTP/1.1\r\nHost: known.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: known.test\r\n\r\n';
const TWO_LENGTHS = 'POST /twocl HTTP/1.1\r\nHost: known.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!';
/** Simple heads the fast front end serves itself: only the proxy's own check refuses them. */
const TWO_ZERO_LENGTHS = [
  'GET /two-zero HTTP/1.1\r\nHost: lenient.test\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n',
  'DELETE /two-zero HTTP/1.1\r\nHost: lenient.test\r\nContent-Length: 0\r\ncontent-length:\t0 \r\n\r\n',
];
const TWO_HOSTS = 'GET /twohosts HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\n\r\n';
const GZIP_CODING = 'POST /gzip HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n';

describe('request framing and request targets', () => {
  let stack: Stack;
  let known: Backend;
  let other: Backend;
  /** Listening but configured nowhere: it must never see a connection. */
  let canary: Backend;
  /** Parses nothing and answers 200 to any head: only the proxy can keep a request from it. */
  let lenient: Counted;

  before(async () => {
    stack = await startStack({ admin: true });
    known = await startHttpBackend({ name: 'known' });
    other = await startHttpBackend({ name: 'other' });
    canary = await startHttpBackend({ name: 'canary' });
    const reached = 'reached the lenient backend';
    lenient = await countedBackend((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${reached.length}\r\n\r\n${reached}`));
    await stack.setFrontend('known.test', 'known-site', known.url);
    await stack.setFrontend('other.test', 'other-site', other.url);
    await stack.setFrontend('lenient.test', 'lenient-site', lenient.url);
  });

  const send = (raw: string) => firstResponse(stack.proxy.port, raw);

  /** Asserts the status for `raw` and that no backend request carried it. */
  async function rejected(raw: string, expected = 400): Promise<void> {
    const before = known.requests.length + lenient.heads.length;
    const res = await send(raw);
    assert.equal(res.status, expected, res.body.toString().slice(0, 300));
    assert.equal(known.requests.length + lenient.heads.length, before, 'the backend must never see it');
  }

  test('Content-Length together with Transfer-Encoding gets 400 and never reaches the backend', async () => {
    await rejected(CL_WITH_TE);
    assert.ok(known.requests.every((r) => r.url !== '/smuggled'));
  });

  test('two different Content-Length headers get 400', async () => {
    await rejected(TWO_LENGTHS);
  });

  test('two Content-Length: 0 fields get 400 and reach no backend; the fast front end leaves every repeated Content-Length to node:http', async () => {
    const served = await frontMeter(stack.adminPort!);
    for (const raw of TWO_ZERO_LENGTHS) await rejected(raw);
    // Served fast, the bytes after the head could be read as a body or as the next request: neither is safe to guess.
    if (fastFrontOn) assert.deepEqual(await fastFrontDid(served), { fastRequests: 0, handoffs: TWO_ZERO_LENGTHS.length });
  });

  test('two Host fields get 400 and reach no backend (the backend might route by the other one)', async () => {
    const beforeOther = other.requests.length;
    await rejected(TWO_HOSTS);
    await rejected('GET /twohosts HTTP/1.1\r\nHost: known.test\r\nhost: known.test\r\n\r\n');
    await rejected('POST /twohosts HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\nContent-Length: 2\r\n\r\nhi');
    await rejected('GET /ws HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.equal(other.requests.length, beforeOther);
  });

  test('Transfer-Encoding: gzip, chunked (a coding the proxy cannot frame) gets 400', async () => {
    await rejected(GZIP_CODING);
  });

  test('an unknown transfer coding gets 400', async () => {
    await rejected('POST /unknown-te HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: bogus\r\n\r\n');
  });

  test('a well-framed chunked request still goes through', async () => {
    const res = await send(
      'POST /ok-chunked HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
        '5\r\nhello\r\n0\r\n\r\n',
    );
    assert.equal(res.status, 200, res.body.toString().slice(0, 300));
    assert.equal(known.requests.at(-1)?.bodyLength, 5);
  });

  test('absolute-form target is routed by its authority to that frontend, with an origin-form path', async () => {
    const res = await send('GET http://known.test/path?q=1 HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200, res.body.toString().slice(0, 300));
    assert.match(res.body.toString(), /"name":"known"/);
    assert.equal(known.requests.at(-1)?.url, '/path?q=1');
  });

  test('absolute-form target for an unconfigured host gets 400 and connects nowhere', async () => {
    await rejected(`GET http://127.0.0.1:${canary.port}/steal HTTP/1.1\r\nHost: known.test\r\nConnection: close\r\n\r\n`);
    await rejected(`GET http://unconfigured.invalid/ HTTP/1.1\r\nHost: known.test\r\nConnection: close\r\n\r\n`);
    assert.equal(canary.connections(), 0);
  });

  test('CONNECT gets 405 and connects nowhere', async () => {
    const authority = `127.0.0.1:${canary.port}`;
    await rejected(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`, 405);
    await rejected('CONNECT known.test:80 HTTP/1.1\r\nHost: known.test:80\r\n\r\n', 405);
    assert.equal(canary.connections(), 0);
  });

  test('the proxy still serves normally after malformed requests', async () => {
    for (const raw of [CL_WITH_TE, TWO_LENGTHS, ...TWO_ZERO_LENGTHS, TWO_HOSTS, GZIP_CODING, 'NOT HTTP AT ALL\r\n\r\n']) {
      assert.equal((await send(raw)).status, 400, raw);
    }
    const res = await stack.get('known.test');
    assert.equal(res.status, 200);
  });
});
