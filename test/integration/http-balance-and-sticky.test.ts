// SPEC §9 "Balancing" and "Sticky sessions", through the CLI-started proxy
// serving a vhosts file, with real backends on loopback. Run under both front
// ends (scripts/test.sh runs every http-*.test.ts again with
// SWITCHYARD_FRONT=node).
//
// balance "least-requests": a backend that has not answered yet gets no more
// of a stream of requests while the other has fewer in flight (with
// "random", about half of them); requests that end badly leave no count.
// sticky: the first answer sets a cookie naming its backend (the same name
// in every worker); with it, new connections to either
// worker reach that backend; a removed or refusing backend's cookie is
// replaced; WebSocket upgrades honour it; the backend's own cookies stay.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import { before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { parseBackend } from '../../src/frontends/backend.js';
import { stickyName } from '../../src/proxy/sticky.js';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend, startWsBackend, type Backend, type WsBackend } from '../helpers/backends.js';
import { httpsRequest, request, type HttpResponse } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { selfSignedCert } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws-client.js';

const COOKIE = 'SRV';

/** The sticky name the proxy gives a backend URL (sticky.ts), as a client would learn it from a first answer. */
const nameOf = (url: string): string => stickyName(parseBackend(url)!);

/** The Set-Cookie fields of an answer, in order. */
function setCookies(res: { rawHeaders: string[] }): string[] {
  return res.rawHeaders.flatMap((h, i) => (i % 2 === 0 && h.toLowerCase() === 'set-cookie' ? [res.rawHeaders[i + 1]!] : []));
}

/** The sticky cookie's value in an answer's Set-Cookie, or null when it sets none. */
function stickyValue(res: { rawHeaders: string[] }): string | null {
  const field = setCookies(res).find((c) => c.startsWith(`${COOKIE}=`));
  return field === undefined ? null : field.slice(COOKIE.length + 1, field.indexOf(';'));
}

const backendOf = (res: HttpResponse): string => String(res.headers['x-backend-name']);

describe('balance: least-requests', () => {
  let slow: Backend;
  let fast: Backend;
  let wsX: WsBackend;
  let wsY: WsBackend;
  let port: number;
  /** The slow backend's answers, held until `releaseSlow`: it is slower than anything else in the test. */
  const held: ServerResponse[] = [];

  before(async () => {
    slow = await startHttpBackend({ name: 'slow', handler: (_req, res) => void held.push(res) });
    // At once, except /hang (answered after 3 s) and /reset (the connection dropped unanswered).
    fast = await startHttpBackend({
      name: 'fast',
      handler: (req, res) => {
        if (req.url === '/reset') return void req.socket.destroy();
        const answer = () => res.writeHead(200, { 'x-backend-name': 'fast' }).end('fast');
        if (req.url === '/hang') setTimeout(answer, 3000).unref();
        else answer();
      },
    });
    wsX = await startWsBackend({ name: 'wsX' });
    wsY = await startWsBackend({ name: 'wsY' });
    const instance = await startFileInstance(
      [
        'vhosts:',
        '  wsleast.test:',
        `    backends: [${wsX.url}, ${wsY.url}]`,
        '    balance: least-requests',
        '  wsother.test:', // wsX again, alone
        `    backends: [${wsX.url}]`,
        '  least.test:',
        `    backends: [${slow.url}, ${fast.url}]`,
        '    balance: least-requests',
        '  random.test:',
        `    backends: [${slow.url}, ${fast.url}]`,
        '  other.test:', // the fast backend again: its in-flight count is the same (one count per backend URL)
        `    backends: [${fast.url}]`,
        '    retryOnError: 0',
        '',
      ].join('\n'),
    );
    port = instance.proxy.port;
  });

  function releaseSlow(): void {
    for (const res of held.splice(0)) res.writeHead(200, { 'x-backend-name': 'slow' }).end('slow');
  }

  /**
   * `n` requests, each on a new connection, each sent once the one before is
   * answered (by the fast backend) or held (by the slow one): whatever the
   * machine's speed, every choice sees the slow backend with all the requests
   * it got still in flight, and the fast one with none. Then the slow
   * backend answers. How many each backend got.
   */
  async function stream(host: string, n: number): Promise<{ slow: number; fast: number }> {
    const [slowBefore, fastBefore] = [slow.requests.length, fast.requests.length];
    const answers: Promise<HttpResponse>[] = [];
    for (let i = 0; i < n; i++) {
      const arrived = slow.requests.length;
      let answered = false;
      answers.push(request({ port, host }).finally(() => void (answered = true)));
      await waitFor(() => answered || slow.requests.length > arrived, { intervalMs: 2, message: `request ${i} answered or held` });
    }
    releaseSlow();
    for (const res of await Promise.all(answers)) assert.equal(res.status, 200);
    return { slow: slow.requests.length - slowBefore, fast: fast.requests.length - fastBefore };
  }

  test('a backend that has not answered yet gets no more requests while another has fewer in flight; with random, about half', async (t) => {
    const least = await stream('least.test', 30);
    t.diagnostic(`least-requests: slow ${least.slow}, fast ${least.fast}`);
    // Only a tie (nothing in flight at either) is drawn at random: after the first request it holds, none.
    assert.ok(least.slow <= 1, `least-requests: slow ${least.slow}, fast ${least.fast}`);
    const random = await stream('random.test', 30);
    t.diagnostic(`random: slow ${random.slow}, fast ${random.fast}`);
    assert.ok(random.slow >= 5, `random (the control): slow ${random.slow}, fast ${random.fast}`);
  });

  test('requests that end badly are no longer counted in flight: abandoned by the client, or the connection dropped by the backend', async (t) => {
    const before = fast.requests.length;
    const ends = Array.from({ length: 15 }, () => request({ port, host: 'other.test', path: '/hang', timeoutMs: 150 }).then(() => 'answered', () => 'abandoned'));
    assert.deepEqual(new Set(await Promise.all(ends)), new Set(['abandoned']));
    for (let i = 0; i < 15; i++) assert.equal((await request({ port, host: 'other.test', path: '/reset' })).status, 502);
    assert.equal(fast.requests.length - before, 30, 'every one reached the backend');
    // Were any of those 30 still counted at the fast backend, the slow one would get more than one.
    const least = await stream('least.test', 20);
    t.diagnostic(`least-requests after them: slow ${least.slow}, fast ${least.fast}`);
    assert.ok(least.slow <= 1, `least-requests after them: slow ${least.slow}, fast ${least.fast}`);
  });

  test('a WebSocket tunnel is in flight until it closes: open ones are balanced, closed ones no longer counted', async (t) => {
    // 8 tunnels to wsX opened and dropped by the client, each gone at the backend (so gone at the proxy, which closes it there) before the next.
    for (let i = 0; i < 8; i++) {
      const { client } = await openWs(port, 'wsother.test');
      assert.equal(await client.echo('hi'), 'wsX:hi');
      client.destroy();
      await waitFor(() => wsX.clients().size === 0, { message: `tunnel ${i} closed at the backend` });
    }
    // Were any of them still counted, wsY would get more than half of these.
    const open: WsClient[] = [];
    t.after(() => open.forEach((c) => c.destroy()));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { client } = await openWs(port, 'wsleast.test');
      open.push(client);
      seen.push((await client.echo('hi')).split(':')[0]!);
    }
    assert.deepEqual([seen.filter((n) => n === 'wsX').length, seen.filter((n) => n === 'wsY').length], [3, 3], `tunnels kept open: ${seen}`);
  });
});

describe('sticky sessions', () => {
  const b: Record<string, Backend> = {};
  let ws: WsBackend[];
  let refused: string;
  let instance: FileInstance;
  let port: number;
  let httpsPort: number;

  function vhosts(appBackends: Backend[]): string {
    const urls = (list: { url: string }[]) => `[${list.map((x) => x.url).join(', ')}]`;
    return [
      'vhosts:',
      '  app.test:',
      `    backends: ${urls(appBackends)}`,
      `    sticky: { cookie: ${COOKIE} }`,
      '  plain.test:',
      `    backends: ${urls([b.a!, b.b!])}`,
      '  cookies.test:',
      `    backends: [${b.cookies!.url}]`,
      `    sticky: { cookie: ${COOKIE} }`,
      '  failover.test:',
      `    backends: [${refused}, ${b.a!.url}]`,
      `    sticky: { cookie: ${COOKIE} }`,
      '  ws.test:',
      `    backends: ${urls(ws)}`,
      `    sticky: { cookie: ${COOKIE} }`,
      '',
    ].join('\n');
  }

  before(async () => {
    for (const name of ['a', 'b', 'c']) b[name] = await startHttpBackend({ name });
    b.cookies = await startHttpBackend({ name: 'cookies', headers: { 'set-cookie': ['session=abc; Path=/', 'theme=dark'] } });
    ws = [await startWsBackend({ name: 'ws1' }), await startWsBackend({ name: 'ws2' }), await startWsBackend({ name: 'ws3' })];
    refused = `http://127.0.0.1:${await freePort()}`; // nothing listens: connections are refused
    const tls = selfSignedCert(undefined, ['DNS:app.test']);
    httpsPort = await freePort();
    instance = await startFileInstance(vhosts([b.a!, b.b!, b.c!]), {
      workers: 2,
      server: { deadBackendTTL: 600 },
      extra: { https: { port: httpsPort, bind: ['127.0.0.1'], key: tls.key, cert: tls.cert } },
    });
    port = instance.proxy.port;
  });

  /** Requests served so far, by worker (admin /status). */
  async function served(): Promise<Map<string, number>> {
    const workers = (await instance.status()).workers as { worker: string; requests: number }[];
    return new Map(workers.map((w) => [w.worker, w.requests]));
  }

  const get = (host: string, cookie?: string, headers: Record<string, string> = {}) =>
    request({ port, host, headers: cookie === undefined ? headers : { ...headers, cookie } });

  test('the first answer sets the cookie; with it, new connections to both workers always reach that backend', async () => {
    const first = await get('app.test');
    assert.equal(first.status, 200);
    const value = stickyValue(first);
    assert.ok(value !== null, `a Set-Cookie for ${COOKIE}: ${JSON.stringify(setCookies(first))}`);
    assert.equal(setCookies(first).find((c) => c.startsWith(`${COOKIE}=`)), `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax`, 'no Secure over plain HTTP');
    assert.equal(value, nameOf(b[backendOf(first)]!.url), 'the cookie names the backend that answered');
    assert.ok(!value.includes('127.0.0.1') && !value.includes(String(b[backendOf(first)]!.port)), 'opaque: not the address');
    // Which worker takes a connection is the kernel's choice: rounds go on until both took some.
    const before = await served();
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 12; i++) {
        const res = await get('app.test', `other=1; ${COOKIE}=${value}`);
        assert.equal(backendOf(res), backendOf(first), `request ${i} of round ${round}`);
        assert.equal(stickyValue(res), null, 'a cookie naming the backend that answers is not set again');
      }
      const after = await served();
      if ([...after].filter(([worker, n]) => n > (before.get(worker) ?? 0)).length === 2) return;
    }
    assert.fail('both workers should have served some of the requests');
  });

  test('without the cookie, requests spread over the backends, each answer naming its own the same way in every worker', async () => {
    const names = new Map<string, Set<string>>();
    for (let i = 0; i < 40; i++) {
      const res = await get('app.test');
      const value = stickyValue(res);
      assert.ok(value !== null, `request ${i}: a Set-Cookie for ${COOKIE}`);
      names.set(backendOf(res), (names.get(backendOf(res)) ?? new Set()).add(value));
    }
    assert.ok(names.size >= 2, `spread: ${[...names.keys()]}`);
    for (const [backend, values] of names) assert.deepEqual([...values], [nameOf(b[backend]!.url)], backend);
  });

  test('over HTTPS the cookie is also Secure', async () => {
    const res = await httpsRequest(httpsPort, 'app.test');
    assert.equal(res.status, 200);
    const field = setCookies(res).find((c) => c.startsWith(`${COOKIE}=`));
    assert.equal(field, `${COOKIE}=${nameOf(b[backendOf(res)]!.url)}; Path=/; HttpOnly; SameSite=Lax; Secure`);
  });

  test('over HTTP/2 the cookie (in several cookie fields) is honoured, and a new one is Secure', async (t) => {
    const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
    t.after(() => session.close());
    session.on('error', () => {});
    const h2Get = (cookie: string[] | null) =>
      new Promise<{ backend: string; setCookie: string[] }>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': 'app.test', ...(cookie === null ? {} : { cookie }) });
        stream.on('response', (headers) => {
          stream.resume();
          stream.on('end', () => resolve({ backend: String(headers['x-backend-name']), setCookie: ([] as string[]).concat(headers['set-cookie'] ?? []) }));
        });
        stream.on('error', reject);
      });
    const first = await h2Get(null);
    assert.deepEqual(first.setCookie, [`${COOKIE}=${nameOf(b[first.backend]!.url)}; Path=/; HttpOnly; SameSite=Lax; Secure`]);
    for (const target of ['a', 'b', 'c']) {
      for (let i = 0; i < 4; i++) {
        const res = await h2Get(['theme=dark', `${COOKIE}=${nameOf(b[target]!.url)}`]);
        assert.deepEqual([res.backend, res.setCookie], [target, []]);
      }
    }
  });

  test('a vhost without sticky sets no cookie and ignores one', async () => {
    const res = await get('plain.test', `${COOKIE}=${nameOf(b.a!.url)}`);
    assert.equal(res.status, 200);
    assert.deepEqual(setCookies(res), []);
  });

  test('the backend\'s own Set-Cookie fields are kept beside the sticky one; the request\'s cookies reach the backend unchanged', async () => {
    const res = await get('cookies.test', 'pref=1');
    assert.deepEqual(setCookies(res).slice(0, 2), ['session=abc; Path=/', 'theme=dark']);
    assert.equal(setCookies(res).length, 3);
    assert.equal(stickyValue(res), nameOf(b.cookies!.url));
    const sent = `pref=1; ${COOKIE}=${nameOf(b.cookies!.url)}`;
    const again = await get('cookies.test', sent);
    assert.deepEqual(setCookies(again), ['session=abc; Path=/', 'theme=dark']);
    assert.equal(b.cookies!.requests.at(-1)?.headers.cookie, sent, 'the sticky cookie is not stripped');
  });

  test('hostile or foreign cookie values are a new choice with a new cookie', async () => {
    for (const cookie of [`${COOKIE}=`, `${COOKIE}=../../etc`, `${COOKIE}="${nameOf(b.a!.url)}"`, `${COOKIE}=${'x'.repeat(4000)}`, `${COOKIE}=${nameOf(b.cookies!.url)}`]) {
      const res = await get('app.test', cookie);
      assert.equal(res.status, 200, cookie.slice(0, 40));
      assert.equal(stickyValue(res), nameOf(b[backendOf(res)]!.url), cookie.slice(0, 40));
    }
  });

  test('a refusing backend\'s cookie: the retry\'s backend answers and its cookie is set, in every worker (X-Debug says "replaced")', async () => {
    for (let i = 0; i < 12; i++) {
      const res = await get('failover.test', `${COOKIE}=${nameOf(refused)}`, { 'x-debug': '1' });
      assert.equal(res.status, 200, `request ${i}: ${res.text.slice(0, 100)}`);
      assert.equal(backendOf(res), 'a');
      assert.equal(stickyValue(res), nameOf(b.a!.url));
      assert.equal(res.headers['x-debug-sticky'], 'replaced');
    }
    const kept = await get('failover.test', `${COOKIE}=${nameOf(b.a!.url)}`, { 'x-debug': '1' });
    assert.equal(kept.headers['x-debug-sticky'], 'kept');
    assert.equal(stickyValue(kept), null);
  });

  test('WebSocket upgrades honour the cookie; without one, the 101 sets it', async () => {
    for (const target of ws) {
      for (let i = 0; i < 6; i++) {
        const { client, response } = await openWs(port, 'ws.test', `${COOKIE}=${nameOf(target.url)}`);
        assert.equal(await client.echo('hi'), `${target.name}:hi`);
        assert.deepEqual(setCookies(response), [], 'the cookie named the backend: none set');
        client.close();
      }
    }
    const { client, response } = await openWs(port, 'ws.test');
    const reply = await client.echo('hi');
    client.close();
    const answered = ws.find((w) => reply === `${w.name}:hi`)!;
    assert.equal(stickyValue(response), nameOf(answered.url));
    assert.match(setCookies(response)[0]!, /; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  test('a cookie naming a backend removed from the file gets a new backend and a new cookie', async () => {
    const removed = nameOf(b.c!.url);
    assert.equal(backendOf(await get('app.test', `${COOKIE}=${removed}`)), 'c');
    instance.save(vhosts([b.a!, b.b!]));
    // Each worker reads the file on its own: until several requests in a row (new connections) miss c.
    let streak = 0;
    await waitFor(async () => {
      const res = await get('app.test', `${COOKIE}=${removed}`);
      streak = backendOf(res) === 'c' ? 0 : streak + 1;
      return streak >= 10;
    }, { timeoutMs: 10_000, message: 'c removed in both workers' });
    for (let i = 0; i < 10; i++) {
      const res = await get('app.test', `${COOKIE}=${removed}`);
      assert.notEqual(backendOf(res), 'c');
      assert.equal(stickyValue(res), nameOf(b[backendOf(res)]!.url));
    }
  });

});

/** Opens a WebSocket through the proxy with `cookie`; resolves with the client and the 101 answer (its headers). */
function openWs(port: number, host: string, cookie?: string): Promise<{ client: WsClient; response: IncomingMessage }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host, ...(cookie === undefined ? {} : { cookie }) }, handshakeTimeout: 5000 });
  const client = new WsClient(socket);
  return new Promise((resolve, reject) => {
    let response: IncomingMessage;
    socket.once('upgrade', (res) => void (response = res));
    socket.once('open', () => resolve({ client, response }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
    socket.on('error', reject);
  });
}
