// SPEC §7: per-vhost `redirectHttps` and `hsts`, from the vhosts file,
// through the real proxy (bin/switchyard.js, an HTTP and an HTTPS listener)
// and real backends. scripts/test.sh runs this file under both plain-HTTP
// front ends (the fast one and node:http): they must answer alike.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { shown, switchyard } from '../helpers/cli.js';
import { adminReady } from '../helpers/front.js';
import { firstResponse, httpsRequest, json, RawConnection, request, type HttpResponse, type RawResponse } from '../helpers/http.js';
import { scrape, total } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const ACME_PATH = '/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';

/** Every Strict-Transport-Security field of an answer, as sent. */
function stsFields(res: { rawHeaders: string[] }): string[] {
  return res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'strict-transport-security');
}

function rawGet(host: string, path = '/x', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
}

describe('redirectHttps and hsts, per vhost, from the vhosts file', () => {
  let proxy: Switchyard;
  let httpsPort: number;
  let adminPort: number;
  let accessLog: string;
  let vhosts: string;
  /** Sends its own Strict-Transport-Security (max-age=5): the vhost's setting must win over it. */
  let app: Backend;
  /** Sends none. */
  let other: Backend;
  let refusing: string;

  const vhostsYaml = (secureHsts: number | null) =>
    [
      'vhosts:',
      '  secure.test:',
      `    backends: [${app.url}]`,
      '    redirectHttps: true',
      ...(secureHsts === null ? [] : [`    hsts: ${secureHsts}`]),
      '  "*.wild.test":',
      `    backends: [${app.url}]`,
      '    redirectHttps: true',
      '  hsts.test:',
      `    backends: [${app.url}]`,
      '    hsts: 600',
      '  relay.test:',
      `    backends: [${app.url}]`,
      '  plain.test:',
      `    backends: [${other.url}]`,
      '  down.test:',
      `    backends: [${refusing}]`,
      '    hsts: 60',
      '',
    ].join('\n');

  /** The backend requests of `app` made while `run` ran. */
  async function appSaw(run: () => Promise<void>): Promise<string[]> {
    const before = app.requests.length;
    await run();
    return app.requests.slice(before).map((r) => `${r.method} ${r.url}`);
  }

  before(async () => {
    app = await startHttpBackend({ name: 'app', headers: { 'Strict-Transport-Security': 'max-age=5' } });
    other = await startHttpBackend({ name: 'other' });
    refusing = `http://127.0.0.1:${await freePort()}`;
    const dir = tempDir('redirect-https');
    vhosts = join(dir, 'vhosts.yaml');
    writeFileSync(vhosts, vhostsYaml(31536000));
    accessLog = join(dir, 'access.log');
    const tls = selfSignedCert();
    httpsPort = await freePort();
    adminPort = await freePort();
    proxy = await startSwitchyard({
      server: { workers: 1, accessLog, accessLogFormat: 'json', tcpTimeout: 2, retryOnError: 0, staticDir: null },
      http: { bind: ['127.0.0.1'] },
      https: { port: httpsPort, bind: ['127.0.0.1'], key: tls.key, cert: tls.cert },
      file: { path: vhosts },
      admin: { port: adminPort },
    });
    await adminReady(adminPort);
    await waitFor(async () => (await request({ port: proxy.port, host: 'plain.test' })).status === 200, { message: 'the vhosts file served' });
  });

  test('plain HTTP gets 308 to the same path and query over HTTPS, on the HTTPS port (not 443); the backend never sees it', async () => {
    const path = '/shop/cart?item=42&note=a%20b&x=';
    let res!: HttpResponse;
    assert.deepEqual(await appSaw(async () => void (res = await request({ port: proxy.port, host: 'secure.test', path }))), []);
    assert.equal(res.status, 308, res.text);
    assert.equal(res.headers.location, `https://secure.test:${httpsPort}${path}`);
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.text, '');
    assert.match(String(res.headers['x-request-id']), /^\S+$/, 'an X-Request-Id like every answer');
    assert.deepEqual(stsFields(res), [], 'never Strict-Transport-Security over plain HTTP (RFC 6797 §7.2)');
  });

  test('HEAD and POST are redirected with 308 (the method is kept), nothing forwarded', async () => {
    const seen = await appSaw(async () => {
      const head = await request({ port: proxy.port, host: 'secure.test', method: 'HEAD', path: '/h' });
      assert.equal(head.status, 308);
      assert.equal(head.headers.location, `https://secure.test:${httpsPort}/h`);
      const post = await request({ port: proxy.port, host: 'secure.test', method: 'POST', path: '/form?a=1', body: 'field=value' });
      assert.equal(post.status, 308);
      assert.equal(post.headers.location, `https://secure.test:${httpsPort}/form?a=1`);
    });
    assert.deepEqual(seen, []);
  });

  test('a body not sent whole is never read: 308, then the connection closes', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      const seen = await appSaw(async () => {
        conn.write('POST /upload HTTP/1.1\r\nHost: secure.test\r\nContent-Length: 100000\r\n\r\nfirst bytes of a large body');
        const res = await conn.readResponse();
        assert.equal(res.status, 308);
        assert.equal(res.headers.location, `https://secure.test:${httpsPort}/upload`);
        assert.equal(res.headers.connection, 'close');
        await waitFor(() => conn.isClosed, { message: 'the connection closed after the redirect' });
      });
      assert.deepEqual(seen, []);
    } finally {
      conn.close();
    }
  });

  test('a kept-alive connection goes on after a redirect: the next request is routed on its own', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.write(rawGet('secure.test', '/one'));
      const first = await conn.readResponse();
      assert.equal(first.status, 308);
      assert.equal(first.headers.location, `https://secure.test:${httpsPort}/one`);
      conn.write(rawGet('plain.test', '/two'));
      const second = await conn.readResponse();
      assert.equal(second.status, 200);
      assert.equal((JSON.parse(second.body.toString()) as EchoBody).url, '/two');
    } finally {
      conn.close();
    }
  });

  test('an ACME HTTP-01 challenge stays on plain HTTP and reaches the backend; a path that only starts like one is redirected', async () => {
    const seen = await appSaw(async () => {
      const challenge = await request({ port: proxy.port, host: 'secure.test', path: ACME_PATH });
      assert.equal(challenge.status, 200, challenge.text);
      assert.equal(json<EchoBody>(challenge).headers['x-forwarded-proto'], 'http');
      for (const path of ['/.well-known/acme-challenge/../admin', '/.well-known/acme-challenge/tok%2F..%2Fadmin', '/.well-known/acme-challenge/']) {
        const res = await request({ port: proxy.port, host: 'secure.test', path });
        assert.equal(res.status, 308, path);
        assert.equal(res.headers.location, `https://secure.test:${httpsPort}${path}`);
      }
    });
    assert.deepEqual(seen, [`GET ${ACME_PATH}`]);
  });

  test('a WebSocket upgrade over plain HTTP is redirected too, and never reaches the backend', async () => {
    const seen = await appSaw(async () => {
      const res = await firstResponse(
        proxy.port,
        rawGet('secure.test', '/socket?room=1', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'),
      );
      assert.equal(res.status, 308);
      assert.equal(res.headers.location, `https://secure.test:${httpsPort}/socket?room=1`);
      assert.match(res.headers['x-request-id'] ?? '', /^\S+$/);
    });
    assert.deepEqual(seen, []);
  });

  test('behind a load balancer that terminates TLS: a trusted peer\'s X-Forwarded-Proto: https is proxied with the hsts, not redirected', async () => {
    let res!: HttpResponse;
    // Loopback is a trusted peer by default (server.trustedProxies).
    const seen = await appSaw(async () => void (res = await request({ port: proxy.port, host: 'secure.test', path: '/lb', headers: { 'x-forwarded-proto': 'https' } })));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(seen, ['GET /lb']);
    assert.deepEqual(stsFields(res), ['max-age=31536000']);
  });

  test('an untrusted peer\'s X-Forwarded-Proto: https is not believed: redirected, no hsts', async () => {
    const tls = selfSignedCert();
    const untrusting = await startSwitchyard({
      server: { workers: 1, trustedProxies: [], staticDir: null },
      http: { bind: ['127.0.0.1'] },
      https: { port: await freePort(), bind: ['127.0.0.1'], key: tls.key, cert: tls.cert },
      file: { path: vhosts },
    });
    await waitFor(async () => (await request({ port: untrusting.port, host: 'plain.test' })).status === 200, { message: 'the vhosts file served' });
    const res = await request({ port: untrusting.port, host: 'secure.test', path: '/lb', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(res.status, 308);
    assert.deepEqual(stsFields(res), []);
  });

  test('the same request is proxied for a vhost without redirectHttps, on the same backend', async () => {
    const seen = await appSaw(async () => {
      const res = await request({ port: proxy.port, host: 'relay.test', path: '/p?q=1' });
      assert.equal(res.status, 200, res.text);
      assert.equal(json<EchoBody>(res).url, '/p?q=1');
      const redirected = await request({ port: proxy.port, host: 'secure.test', path: '/p?q=1' });
      assert.equal(redirected.status, 308);
    });
    assert.deepEqual(seen, ['GET /p?q=1'], 'relay.test only');
  });

  test('over HTTPS a redirectHttps vhost is proxied, with its hsts max-age replacing the backend\'s Strict-Transport-Security', async () => {
    const seen = await appSaw(async () => {
      const res = await httpsRequest(httpsPort, 'secure.test', { path: '/shop?x=1', method: 'POST', body: 'b' });
      assert.equal(res.status, 200, res.text);
      assert.equal(json<EchoBody>(res).headers['x-forwarded-proto'], 'https');
      assert.deepEqual(stsFields(res), ['max-age=31536000']);
    });
    assert.deepEqual(seen, ['POST /shop?x=1']);
    // Vhosts without hsts, beside it: the same backend's own header relayed as it is; none added to another's.
    const relayed = await httpsRequest(httpsPort, 'relay.test');
    assert.equal(relayed.status, 200);
    assert.deepEqual(stsFields(relayed), ['max-age=5']);
    const none = await httpsRequest(httpsPort, 'plain.test');
    assert.equal(none.status, 200);
    assert.deepEqual(stsFields(none), []);
  });

  test('hsts without redirectHttps: the max-age over HTTPS; over plain HTTP proxied with no Strict-Transport-Security at all', async () => {
    const secure = await httpsRequest(httpsPort, 'hsts.test');
    assert.equal(secure.status, 200, secure.text);
    assert.deepEqual(stsFields(secure), ['max-age=600']);
    const plain = await request({ port: proxy.port, host: 'hsts.test' });
    assert.equal(plain.status, 200, plain.text);
    assert.deepEqual(stsFields(plain), [], "the backend's own is dropped too");
  });

  test('error pages over HTTPS carry the vhost\'s hsts; over plain HTTP they do not', async () => {
    const secure = await httpsRequest(httpsPort, 'down.test');
    assert.equal(secure.status, 502, secure.text);
    assert.deepEqual(stsFields(secure), ['max-age=60']);
    const plain = await request({ port: proxy.port, host: 'down.test' });
    assert.equal(plain.status, 502);
    assert.deepEqual(stsFields(plain), []);
  });

  test('a hostile Host never makes a Location outside the routed host: normalised, or refused with 400', async () => {
    const to = (host: string, path = '/x') => `https://${host}:${httpsPort}${path}`;
    const cases: [host: string, location: string | null][] = [
      ['secure.test:8080', to('secure.test')],
      ['SECURE.Test', to('secure.test')],
      ['secure.test.', to('secure.test')],
      ['Secure.TEST.:99', to('secure.test')],
      ['a.b.Wild.Test', to('a.b.wild.test')],
      ['secure.test@evil.test', null],
      ['evil.test@secure.test', null],
      ['secure.test:443@evil.test', null],
      ['secure.test:evil.test', null],
      ['evil.test/secure.test', null],
      ['evil.test\\.wild.test', null],
      ['evil.test#.wild.test', null],
      ['evil.test?.wild.test', null],
      ['evil.test%2f.wild.test', null],
      ['secure.test evil.test', null],
      ['secure.test,evil.test', null],
      ['"secure.test"', null],
      ['*.wild.test', null],
      ['..wild.test', null],
      ['evil.test', null],
    ];
    const seen = await appSaw(async () => {
      for (const [host, location] of cases) {
        const res: RawResponse = await firstResponse(proxy.port, rawGet(host));
        if (location === null) {
          assert.equal(res.status, 400, `Host: ${host}`);
          assert.equal(res.headers.location, undefined, `Host: ${host}`);
        } else {
          assert.equal(res.status, 308, `Host: ${host}`);
          assert.equal(res.headers.location, location, `Host: ${host}`);
        }
      }
    });
    assert.deepEqual(seen, [], 'nothing reached the backend');
  });

  test('an absolute-form target is redirected to its own authority; a path cannot move the Location elsewhere', async () => {
    const absolute = await firstResponse(proxy.port, 'GET http://Secure.Test:80/abs?q=1 HTTP/1.1\r\nHost: evil.test\r\n\r\n');
    assert.equal(absolute.status, 308);
    assert.equal(absolute.headers.location, `https://secure.test:${httpsPort}/abs?q=1`);
    const elsewhere = await firstResponse(proxy.port, 'GET http://evil.test/ HTTP/1.1\r\nHost: secure.test\r\n\r\n');
    assert.equal(elsewhere.status, 400, 'routed by its authority: an unknown host');
    assert.equal(elsewhere.headers.location, undefined);
    for (const path of ['//evil.test/x', '/\\evil.test/x', '/@evil.test']) {
      const res = await firstResponse(proxy.port, rawGet('secure.test', path));
      assert.equal(res.status, 308, path);
      assert.equal(res.headers.location, `https://secure.test:${httpsPort}${path}`);
      assert.equal(new URL(res.headers.location!).host, `secure.test:${httpsPort}`, path);
    }
  });

  test('redirects are logged and counted like every answer', async () => {
    const before = total((await scrape(adminPort)).samples, 'switchyard_requests_total', { code: '308', method: 'GET' });
    const res = await request({ port: proxy.port, host: 'secure.test', path: '/logged?x=1' });
    assert.equal(res.status, 308);
    const id = String(res.headers['x-request-id']);
    const line = await waitFor(
      () => readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.request_id === id),
      { message: 'the redirect in the access log' },
    );
    assert.equal(line.status, 308);
    assert.equal(line.host, 'secure.test');
    assert.equal(line.frontend, 'secure.test');
    assert.equal(line.path, '/logged?x=1');
    assert.equal(line.backend, null);
    await waitFor(async () => total((await scrape(adminPort)).samples, 'switchyard_requests_total', { code: '308', method: 'GET' }) === before + 1, {
      message: 'the redirect counted in switchyard_requests_total{code="308"}',
    });
  });

  test('the CLI: explain shows the options, plan shows their change, validate refuses bad values', async (t) => {
    const admin = `http://127.0.0.1:${adminPort}`;
    const explained = await switchyard(['explain', 'secure.test', '--admin', admin]);
    assert.equal(explained.status, 0, shown(explained));
    assert.match(explained.stdout, /^ {2}redirectHttps: true$/m);
    assert.match(explained.stdout, /^ {2}hsts: +31536000$/m);

    const next = join(tempDir('redirect-plan', t), 'vhosts.yaml');
    writeFileSync(next, vhostsYaml(null));
    const plan = await switchyard(['plan', next, '--admin', admin]);
    assert.equal(plan.status, 0, shown(plan));
    assert.match(plan.stdout, /^~ secure\.test\n {6}hsts: 31536000 -> \(default\)\n/m);
    assert.match(plan.stdout, /Plan: 0 to add, 1 to change, 0 to remove, 5 unchanged\./);

    const bad = join(tempDir('redirect-validate', t), 'vhosts.yaml');
    writeFileSync(bad, 'vhosts:\n  a.test:\n    backends: [http://127.0.0.1:1]\n    redirectHttps: 1\n    hsts: -5\n');
    const refused = await switchyard(['validate', bad]);
    assert.equal(refused.status, 1, shown(refused));
    assert.match(refused.stdout, /vhosts\.yaml:4:20: \/vhosts\/a\.test\/redirectHttps: must be boolean/);
    assert.match(refused.stdout, /vhosts\.yaml:5:11: \/vhosts\/a\.test\/hsts: must be >= 0/);
  });
});
