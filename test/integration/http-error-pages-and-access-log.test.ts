// SPEC §3: error pages (staticDir/error_<status>.html or built-in) and the
// nginx "combined" access log at server.accessLog.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const CUSTOM_502 = '<html><body>custom-502-page-marker</body></html>';

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('error pages from staticDir', () => {
  let stack: Stack;

  before(async () => {
    const staticDir = tempDir('static');
    writeFileSync(path.join(staticDir, 'error_502.html'), CUSTOM_502);
    stack = await startStack({ server: { staticDir } });
    await stack.setFrontend('nobackend.test', 'empty-site');
  });

  test('a 502 is served from staticDir/error_502.html when present', async () => {
    const res = await stack.get('nobackend.test');
    assert.equal(res.status, 502);
    assert.equal(res.text, CUSTOM_502);
    assert.match(String(res.headers['content-type']), /text\/html/);
  });

  test('a status without a file in staticDir (400) gets the built-in page', async () => {
    const res = await stack.get('unknown.invalid');
    assert.equal(res.status, 400);
    assert.ok(res.body.length > 0, 'built-in page has a body');
    assert.ok(!res.text.includes('custom-502-page-marker'));
  });
});

describe('built-in error pages without staticDir', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ server: { staticDir: null } });
    await stack.setFrontend('nobackend.test', 'empty-site');
  });

  test('502 and 400 get built-in, non-empty pages', async () => {
    for (const [host, status] of [['nobackend.test', 502], ['unknown.invalid', 400]] as const) {
      const res = await stack.get(host);
      assert.equal(res.status, status);
      assert.ok(res.body.length > 0, `${status} has a body`);
    }
  });
});

describe('access log', () => {
  let stack: Stack;
  let backend: Backend;

  before(async () => {
    stack = await startStack();
    backend = await startHttpBackend({ name: 'logged', body: 'hello, log' });
    await stack.setFrontend('logged.test', 'log-site', backend.url);
  });

  // nginx combined: $remote_addr - $remote_user [$time_local] "$request" $status
  // $body_bytes_sent "$http_referer" "$http_user_agent"; extra fields may follow.
  const combined = (request: string, status: number, referer: string, agent: string): RegExp =>
    new RegExp(
      String.raw`^(?:::ffff:)?127\.0\.0\.1 - \S+ \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] ` +
        `"${reEscape(request)}" ${status} (\\d+|-) "${field(referer)}" "${field(agent)}"( .*)?$`,
      'm',
    );

  test('a proxied request is logged in nginx combined format', async () => {
    const res = await stack.get('logged.test', {
      path: '/combined?probe=1',
      headers: { referer: 'http://ref.example/page', 'user-agent': 'switchyard-test/1.0' },
    });
    assert.equal(res.status, 200);
    const line = combined('GET /combined?probe=1 HTTP/1.1', 200, 'http://ref.example/page', 'switchyard-test/1.0');
    await waitFor(() => line.test(readLog(stack.accessLog)), {
      timeoutMs: 5000,
      message: `access log line matching ${line}`,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- access log ---\n${readLog(stack.accessLog)}`);
    });
  });

  test('the logged byte count is the body size for a Content-Length answer', async () => {
    await stack.get('logged.test', { path: '/bytes-probe', headers: { 'user-agent': 'bytes-agent' } });
    const found = await waitFor(() => /^.*"GET \/bytes-probe HTTP\/1\.1" 200 (\d+) .*$/m.exec(readLog(stack.accessLog)));
    const bytes = Number(found[1]);
    // $body_bytes_sent is 10 ('hello, log'); some loggers count the head too.
    assert.ok(bytes >= 10, `logged ${bytes} bytes: ${found[0]}`);
  });

  test('a proxy error (unknown host, 400) is logged too, with "-" for missing referer and agent', async () => {
    await stack.get('unlogged.invalid', { path: '/error-probe' });
    const line = combined('GET /error-probe HTTP/1.1', 400, '-', '-');
    await waitFor(() => line.test(readLog(stack.accessLog)), { message: `access log line matching ${line}` }).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n--- access log ---\n${readLog(stack.accessLog)}`);
      },
    );
  });
});

/** '-' (nginx's empty value) also accepts an empty field. */
function field(s: string): string {
  return s === '-' ? '-?' : reEscape(s);
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
