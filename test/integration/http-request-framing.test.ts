// SPEC §3: ambiguous framing never reaches a backend (request smuggling), and
// no request can make the proxy connect anywhere but a configured backend.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { firstResponse } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('request framing and request targets', () => {
  let stack: Stack;
  let known: Backend;
  let other: Backend;
  /** Listening but configured nowhere: it must never see a connection. */
  let canary: Backend;

  before(async () => {
    stack = await startStack();
    known = await startHttpBackend({ name: 'known' });
    other = await startHttpBackend({ name: 'other' });
    canary = await startHttpBackend({ name: 'canary' });
    await stack.setFrontend('known.test', 'known-site', known.url);
    await stack.setFrontend('other.test', 'other-site', other.url);
  });

  const send = (raw: string) => firstResponse(stack.proxy.port, raw);

  /** Asserts the status for `raw` and that no backend request carried it. */
  async function rejected(raw: string, expected = 400): Promise<void> {
    const before = known.requests.length;
    const res = await send(raw);
    assert.equal(res.status, expected, res.body.toString().slice(0, 300));
    assert.equal(known.requests.length, before, 'the backend must never see it');
  }

  test('Content-Length together with Transfer-Encoding gets 400 and never reaches the backend', async () => {
    await rejected(
      'POST /smuggle HTTP/1.1\r\nHost: known.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: known.test\r\n\r\n',
    );
    assert.ok(known.requests.every((r) => r.url !== '/smuggled'));
  });

  test('two different Content-Length headers get 400', async () => {
    await rejected('POST /twocl HTTP/1.1\r\nHost: known.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!');
  });

  test('two Host fields get 400 and reach no backend (the backend might route by the other one)', async () => {
    const beforeOther = other.requests.length;
    await rejected('GET /twohosts HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\n\r\n');
    await rejected('GET /twohosts HTTP/1.1\r\nHost: known.test\r\nhost: known.test\r\n\r\n');
    await rejected('POST /twohosts HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\nContent-Length: 2\r\n\r\nhi');
    await rejected('GET /ws HTTP/1.1\r\nHost: known.test\r\nHost: other.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.equal(other.requests.length, beforeOther);
  });

  test('Transfer-Encoding: gzip, chunked (a coding the proxy cannot frame) gets 400', async () => {
    await rejected('POST /gzip HTTP/1.1\r\nHost: known.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
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

  test('the proxy still serves normally after all the malformed requests', async () => {
    const res = await stack.get('known.test');
    assert.equal(res.status, 200);
  });
});
