// The admin listener's status page (GET /): one self-contained document
// whose inline script and style its CSP allows by hash, behind the token
// (HTTP Basic for a browser); then the page itself in a real headless
// Chromium: what it shows, a host looked up, a change to the vhosts file
// shown live (no reload), dead backends and a quarantined host standing out.
// A screenshot is kept in test-artifacts/status-page.png.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { openEventStream } from '../helpers/sse.js';
import { selfSignedCert } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';
import { StatusPageView } from '../helpers/status-page.js';
import { artifactPath, chromiumMissing, launchChromium } from '../helpers/browser.js';

const TOKEN = 'status-page-token-0123456789';
/** Shown as text, never run: the page inserts configuration as text only. */
const HOSTILE_ID = '<img src=x onerror="window.__xss=1">';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function vhosts(alpha: Backend, refused: number, extra = ''): string {
  return [
    'vhosts:',
    '  app.test:',
    `    id: '${HOSTILE_ID}'`,
    `    backends: [${alpha.url}]`,
    '  pair.test:',
    `    backends: [${alpha.url}, http://127.0.0.1:${refused}]`,
    `  down.test: { backends: [http://127.0.0.1:${refused}] }`,
    extra,
  ].join('\n');
}

describe('status page', () => {
  let alpha: Backend;
  let refused: number;
  let instance: FileInstance;
  let origin: string;

  before(async () => {
    alpha = await startHttpBackend({ name: 'alpha' });
    refused = await freePort(); // nothing listens there: connections are refused
    // openssl's -days 1: it expires within a day, so the page must show it in red.
    const tls = selfSignedCert(undefined, ['DNS:status.test', 'IP:127.0.0.1']);
    const https = { port: await freePort(), bind: ['127.0.0.1'], key: tls.key, cert: tls.cert };
    // Dead marks last the whole file: a test must not see one expire under it.
    instance = await startFileInstance(vhosts(alpha, refused), { workers: 2, server: { deadBackendTTL: 600 }, token: TOKEN, extra: { https } });
    origin = `http://127.0.0.1:${instance.adminPort}`;
  });

  test('GET / is one self-contained HTML page: no URL to anywhere, its inline script and style allowed by hash in its CSP', async () => {
    const res = await instance.get('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    const html = res.text;
    assert.doesNotMatch(html, /https?:\/\//i, 'no absolute URL');
    for (const [, value] of html.matchAll(/\b(?:src|href|action)\s*=\s*["']?([^"'\s>]*)/gi)) assert.match(value!, /^data:/, `an asset: ${value}`);
    assert.doesNotMatch(html, /@import|url\(/i, 'no stylesheet import');
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const csp = Object.fromEntries(String(res.headers['content-security-policy']).split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    assert.deepEqual(csp['default-src'], ["'self'"]);
    assert.deepEqual(csp['script-src'], [hash(scripts[0]!)]);
    assert.deepEqual(csp['style-src'], [hash(styles[0]!)]);
    assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  test('with a token the page and the stream ask a browser for it (401, Basic realm) and take it as the Basic password or a bearer token', async () => {
    const get = (path: string, authorization?: string) =>
      request({ port: instance.adminPort, host: '127.0.0.1', path, headers: authorization === undefined ? {} : { authorization } });
    for (const path of ['/', '/status', '/events/stream']) {
      for (const authorization of [undefined, basic('operator', 'wrong-password'), basic(TOKEN, ''), `Bearer ${TOKEN.slice(1)}`]) {
        const refusedAnswer = await get(path, authorization);
        assert.equal(refusedAnswer.status, 401, `${path} with ${authorization}`);
        assert.equal(refusedAnswer.headers['www-authenticate'], 'Basic realm="switchyard admin"');
        assert.doesNotMatch(refusedAnswer.text, /<html|"sources"/, 'nothing of what it guards');
      }
    }
    const page = await get('/', basic('operator', TOKEN));
    assert.equal(page.status, 200);
    assert.match(page.text, /<title>Switchyard status<\/title>/);
    assert.equal((await get('/status', basic('', TOKEN))).status, 200);
    assert.equal((await get('/status', `Bearer ${TOKEN}`)).status, 200);
    const stream = await openEventStream(instance.adminPort, { authorization: basic('operator', TOKEN) });
    assert.equal(stream.status, 200);
    await stream.next(() => true, 'an event on the stream');
    stream.close();
    assert.equal((await get('/healthz')).status, 200, 'probes need no token');
  });

  test('/status lists the dead backends of every worker, the certificate with its days left, and the traffic totals rates are made of', async () => {
    const before = (await instance.status()).traffic;
    assert.equal((await request({ port: instance.proxy.port, host: 'down.test' })).status, 502);
    // Each worker marks its own dead backends (no Redis): requests until both have.
    await waitFor(async () => {
      assert.equal((await request({ port: instance.proxy.port, host: 'pair.test' })).status, 200);
      const { workers } = await instance.status();
      return workers.every((w: { deadBackends: number }) => w.deadBackends >= 1);
    }, { timeoutMs: 20_000, message: 'a dead mark for pair.test in both workers' });
    const status = await instance.status();
    const mark = status.deadBackends.marks.find((m: { host: string }) => m.host === 'pair.test');
    assert.deepEqual({ ...mark, until: undefined, workers: mark.workers.sort() }, {
      host: 'pair.test', index: 1, url: `http://127.0.0.1:${refused}`, until: undefined, source: 'proxy', workers: status.workers.map((w: { worker: string }) => w.worker).sort(),
    });
    assert.ok(Date.parse(mark.until) > Date.now() + 500_000, `until ${mark.until}: deadBackendTTL from now`);
    assert.equal(status.deadBackends.count, 1, 'one mark in each worker: one mark');
    const [cert] = status.certificates;
    assert.equal(cert.source, 'config');
    assert.equal(cert.subject, 'CN=localhost');
    assert.deepEqual(cert.names, ['status.test', 'IP Address:127.0.0.1']);
    assert.equal(cert.daysLeft, 0, 'made with -days 1');
    assert.ok(Date.parse(cert.notAfter) > Date.now());
    const after = status.traffic;
    assert.ok(after.requests - before.requests >= 2, `requests ${before.requests} -> ${after.requests}`);
    assert.equal(after.status5xx - before.status5xx, 1, 'the 502 of down.test');
    assert.ok(after.backendErrors - before.backendErrors >= 2, 'down.test refused, and pair.test refused at least once per worker');
    assert.ok(after.retries - before.retries >= 2, 'pair.test retried on its live backend');
    assert.deepEqual(Object.keys(status.workers[0].traffic).sort(), ['backendErrors', 'requests', 'retries', 'status5xx']);
  });

  test('in headless Chromium: the instance at a glance, a lookup, a change shown live, dead backends and a quarantined host standing out', async (t) => {
    const missing = chromiumMissing();
    if (missing !== null) return t.skip(missing);
    const browser = await launchChromium();
    const context = await browser.newContext({ httpCredentials: { username: 'operator', password: TOKEN }, viewport: { width: 1400, height: 1000 } });
    const view = await StatusPageView.open(context, origin);
    const status = await instance.status();

    // Workers, the source with its version, the certificate that expires within the day.
    for (const worker of status.workers) assert.match(await view.text(`#workers tr[data-worker="${worker.worker}"]`), new RegExp(`\\b${worker.pid}\\b`));
    const source = await view.text('#sources tr[data-source="file"]');
    assert.match(source, /ready/);
    assert.ok(source.includes(status.sources[0].version), `the file source's version ${status.sources[0].version} in: ${source}`);
    assert.match(await view.text('#certificates'), /status\.test/);
    assert.equal(await view.text('#certificates td.days-left.bad'), '0');
    assert.equal(await view.text('#certificates td.ocsp'), '-', 'the OCSP column: no handshake asked for a staple yet');
    assert.match(await view.text('#certificate-counts'), /1 served \(config: 1\)/);
    assert.match(await view.text('#problems'), /expires in 0 days/);

    // The lookup form: what `explain` says, the hostile id shown as text.
    await view.lookUp('APP.test:8080');
    assert.match(await view.text('#lookup-result'), /app\.test is served by the exact rule from the file source/);
    assert.equal(await view.text('#lookup-result code'), HOSTILE_ID);
    assert.match(await view.text('#lookup-result tr[data-backend="0"]'), /live/);
    assert.doesNotMatch(await view.text('#lookup-result'), /\b(null|undefined|NaN)\b/);

    // A change to the file, shown without a reload.
    await view.markDocument();
    instance.save(vhosts(alpha, refused, `  live.test: { backends: [${alpha.url}] }`));
    await view.waitForText('#events li[data-type="frontend-set"]', /live\.test/, 'the new host in the event list');
    assert.equal(await view.sameDocument(), true, 'the page was not reloaded');

    // Traffic: a dead backend, and the request rate.
    // Without Redis each worker marks its own dead backends; /route answers from the oldest: requests until it has the mark.
    await waitFor(async () => {
      assert.equal((await request({ port: instance.proxy.port, host: 'pair.test' })).status, 200);
      return JSON.parse((await instance.get('/route?host=pair.test')).text).route.backends[1].dead === true;
    }, { timeoutMs: 20_000, message: 'the refused backend marked dead in the worker answering /route' });
    await view.waitForText('#dead tr[data-host="pair.test"]', new RegExp(`#1 http://127\\.0\\.0\\.1:${refused}`), 'the dead backend listed');
    await view.waitFor(() => Number(document.querySelector('[data-rate="requests"] .value')?.textContent) > 0, 'a request rate above 0');
    await view.lookUp('pair.test');
    assert.match(await view.text('#lookup-result tr[data-backend="1"]'), /dead/);
    assert.match(await view.text('#lookup-result tr[data-backend="0"]'), /live/);

    // A bad host: quarantined, and it stands out.
    instance.save(vhosts(alpha, refused, `  live.test: { backends: [${alpha.url}] }\n  bad.test: { backends: ['ftp://127.0.0.1:21'] }`));
    const quarantined = '#sources .quarantined li[data-host="bad.test"]';
    await view.waitForText(quarantined, /must be an http:\/\/ or https:\/\/ URL/, 'the quarantined host');
    assert.match(await view.text('#sources tr[data-source="file"]'), /degraded/);
    assert.equal(await view.attribute('#sources tr[data-source="file"]', 'class'), 'bad');
    assert.equal(await view.text('#overall'), 'PROBLEM');
    assert.match(await view.text('#problems'), /1 quarantined in file: bad\.test/);
    assert.notEqual(await view.style(quarantined, 'backgroundColor'), 'rgba(0, 0, 0, 0)', 'highlighted');

    const screenshot = artifactPath('status-page.png');
    await view.page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`screenshot: ${screenshot}`);
    assert.deepEqual(await view.troubles(), { xss: false, images: 0, cspViolations: [], pageErrors: [], foreignRequests: [] });
  });
});
