// SPEC §3-5: HTTPS with the key/cert from the config; X-Forwarded-Proto,
// -Protocol and -Port tell the backend which listener the client used.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { httpsRequest as httpsRequestTo, json, request, type HttpsRequestOptions } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startCli } from '../helpers/processes.js';
import { startRedis } from '../helpers/redis.js';
import { startTlsStack, type TlsStack } from '../helpers/tls-stack.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';

/** Every request of this file goes to the same path, with a query. */
const httpsRequest = (port: number, host: string, opts: HttpsRequestOptions = {}) => httpsRequestTo(port, host, { path: '/secure?q=1', ...opts });

describe('HTTPS listener', () => {
  let stack: TlsStack;
  let echo: Backend;

  before(async () => {
    stack = await startTlsStack();
    echo = await startHttpBackend({ name: 'echo' });
    await stack.setFrontend('secure.test', 'secure', echo.url);
  });

  test('a request over HTTPS is proxied with X-Forwarded-Proto/Protocol https and the HTTPS port', async () => {
    const res = await httpsRequest(stack.httpsPort, 'secure.test');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.peerCN, 'localhost', 'the configured certificate is served');
    const seen = json<EchoBody>(res);
    assert.equal(seen.name, 'echo');
    assert.equal(seen.url, '/secure?q=1');
    assert.equal(seen.headers.host, 'secure.test');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-protocol'], 'https');
    assert.equal(seen.headers['x-forwarded-port'], String(stack.httpsPort));
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('the HTTP listener of the same config still says http and its own port', async () => {
    const res = await request({ port: stack.httpPort, host: 'secure.test' });
    assert.equal(res.status, 200, res.text);
    const seen = json<EchoBody>(res);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-protocol'], 'http');
    assert.equal(seen.headers['x-forwarded-port'], String(stack.httpPort));
  });

  test('HTTPS keeps a connection alive across requests and streams request bodies', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = 'y'.repeat(1024 * 1024);
      const first = await httpsRequest(stack.httpsPort, 'secure.test', { method: 'POST', body, agent });
      const second = await httpsRequest(stack.httpsPort, 'secure.test', { agent });
      assert.equal(first.status, 200);
      assert.equal(json<EchoBody>(first).bodyLength, body.length);
      assert.equal(second.status, 200);
      assert.equal(second.localPort, first.localPort, 'the same TLS connection was reused');
    } finally {
      agent.destroy();
    }
  });

  test('proxy answers over HTTPS: __ping__ 200, unknown host 400', async () => {
    const ping = await httpsRequest(stack.httpsPort, '__ping__');
    assert.deepEqual([ping.status, ping.text], [200, 'ok']);
    assert.equal((await httpsRequest(stack.httpsPort, 'nobody-home.test')).status, 400);
  });
});

describe('HTTPS configuration', () => {
  test('the pre-0.4 server.https block serves HTTPS on the HTTP addresses', async (t) => {
    const redis = await startRedis(); // stopped at the end of the file, after the proxy
    const echo = await startHttpBackend({ name: 'legacy-echo', scope: t });
    await redis.cmd('RPUSH', 'frontend:legacy.test', 'legacy', echo.url);
    const tls = selfSignedCert(t);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const config = {
      server: { port: httpPort, address: ['127.0.0.1'], workers: 1, https: { port: httpsPort, key: 'k.pem', cert: 'c.pem' } },
      redisHost: '127.0.0.1',
      redisPort: redis.port,
    };
    // Next to k.pem and c.pem: relative paths are resolved against the config file's directory.
    const file = path.join(tls.dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    await startCli({ args: ['--config', file], port: httpPort, scope: t });
    const res = await httpsRequest(httpsPort, 'legacy.test');
    assert.equal(res.status, 200, res.text);
    assert.equal(json<EchoBody>(res).headers['x-forwarded-proto'], 'https');
    assert.equal(json<EchoBody>(res).headers['x-forwarded-port'], String(httpsPort));
  });

  test('a certificate that cannot be read stops start-up with its JSON path', async (t) => {
    const dir = tempDir('bad-cert', t);
    const tls = selfSignedCert(t);
    const file = path.join(dir, 'config.json');
    const https = { port: await freePort(), bind: ['127.0.0.1'], key: tls.key, cert: path.join(dir, 'missing.pem') };
    writeFileSync(file, JSON.stringify({ http: { port: await freePort(), bind: ['127.0.0.1'] }, https }));
    const result = runCli(['--config', file]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /\/https\/cert/);
    assert.match(result.stderr, /missing\.pem/);
  });
});
