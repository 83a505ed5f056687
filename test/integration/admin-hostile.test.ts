// The admin listener against requests an outside client can send before any
// token is checked: odd request targets must get an answer, never take the
// master (and the instance's admin API with it) down.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend } from '../helpers/backends.js';
import { rawRequest, request } from '../helpers/http.js';

describe('admin listener: hostile request targets', () => {
  let instance: FileInstance;

  before(async () => {
    const backend = await startHttpBackend({ name: 'app' });
    instance = await startFileInstance(`vhosts:\n  app.test: { backends: [${backend.url}] }\n`, { token: 'a-long-enough-admin-token' });
  });

  for (const target of ['//', 'http://a:b/status', 'http://[/status', '///']) {
    test(`GET ${target} without a token gets an answer, and the master serves on`, async () => {
      const res = await rawRequest(instance.adminPort, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.ok(res.status >= 400 && res.status < 500, `a 4xx for ${target}: ${res.text.slice(0, 200)}`);
      assert.equal(instance.proxy.hasExited(), false, `the master is alive: ${instance.proxy.logs().slice(-500)}`);
      const healthz = await request({ port: instance.adminPort, host: '127.0.0.1', path: '/healthz' });
      assert.equal(healthz.status, 200);
      const proxied = await request({ port: instance.proxy.port, host: 'app.test' });
      assert.equal(proxied.status, 200);
    });
  }

  test('a path variant of a guarded endpoint is not answered without the token', async () => {
    for (const path of ['//status', '/status/', '/metrics?x', '/%73tatus', '//healthz/../status', '/frontends#x']) {
      const res = await request({ port: instance.adminPort, host: '127.0.0.1', path });
      assert.ok(res.status === 401 || res.status === 404, `${path}: ${res.status}`);
      assert.doesNotMatch(res.text, /"sources"|switchyard_requests_total|"frontends"/, `${path} reveals nothing`);
    }
  });
});
