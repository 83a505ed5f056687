// SPEC §9 "Path prefixes" from the vhosts file, through the real proxy:
// `paths` under a host route by the longest prefix, stripPrefix rewrites the
// request line the backend receives, X-Debug names the path frontend, and a
// host with paths only falls back to the catch-all for its other paths.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend, startWsBackend, type Backend, type WsBackend } from '../helpers/backends.js';
import { json, request } from '../helpers/http.js';
import { shown, switchyard } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { connectWs } from '../helpers/ws-client.js';

type Echo = { name: string; url: string };

function vhostsYaml(b: Record<string, Backend>, withApi: boolean): string {
  return `vhosts:
  www.example.test:
    backends: [${b.site!.url}]
    paths:
      /ws:
        backends: [${b.ws!.url}]
        stripPrefix: true
${withApi ? `      /api:\n        backends: [${b.api!.url}]\n        stripPrefix: true\n` : ''}      /static/v1:
        id: assets
        backends: [${b.assets!.url}]
  only.test:
    paths:
      /a:
        backends: [${b.api!.url}]
  "*":
    backends: [${b.fallback!.url}]
`;
}

describe('path frontends from the vhosts file', () => {
  const b: Record<string, Backend> = {};
  let instance: FileInstance;
  let port: number;

  before(async () => {
    for (const name of ['site', 'api', 'assets', 'fallback']) b[name] = await startHttpBackend({ name });
    b.ws = await startWsBackend({ name: 'ws' });
    instance = await startFileInstance(vhostsYaml(b, true));
    port = instance.proxy.port;
  });

  /** Which backend answered, and the request target it received. */
  async function seen(host: string, path: string): Promise<[string, string]> {
    const res = await request({ port, host, path });
    assert.equal(res.status, 200, `${host}${path}: ${res.status} ${res.text.slice(0, 200)}`);
    const echo = json<Echo>(res);
    return [echo.name, echo.url];
  }

  test('stripPrefix: the backend receives the path without the prefix, always starting with "/"', async () => {
    assert.deepEqual(await seen('www.example.test', '/api/v1/users?id=7'), ['api', '/v1/users?id=7']);
    assert.deepEqual(await seen('www.example.test', '/api'), ['api', '/']);
    assert.deepEqual(await seen('www.example.test', '/api/'), ['api', '/']);
    assert.deepEqual(await seen('www.example.test', '/api?x=1'), ['api', '/?x=1']);
  });

  test('without stripPrefix the path is forwarded as sent; segment boundaries only', async () => {
    assert.deepEqual(await seen('www.example.test', '/static/v1/app.js'), ['assets', '/static/v1/app.js']);
    assert.deepEqual(await seen('www.example.test', '/static/v10/app.js'), ['site', '/static/v10/app.js']);
    assert.deepEqual(await seen('www.example.test', '/apiary'), ['site', '/apiary']);
    assert.deepEqual(await seen('WWW.Example.TEST:80', '/'), ['site', '/']);
  });

  test('X-Debug names the path frontend and its id', async () => {
    const res = await request({ port, host: 'www.example.test', path: '/static/v1/x', headers: { 'x-debug': '1' } });
    assert.equal(res.headers['x-debug-frontend-key'], 'www.example.test/static/v1');
    assert.equal(res.headers['x-debug-vhost'], 'assets');
    const api = await request({ port, host: 'www.example.test', path: '/api/x', headers: { 'x-debug': '1' } });
    assert.equal(api.headers['x-debug-frontend-key'], 'www.example.test/api');
    assert.equal(api.headers['x-debug-vhost'], 'www.example.test/api', 'a path\'s id defaults to its key');
  });

  test('a WebSocket upgrade is routed by its path, and stripped like a request', async () => {
    const client = await connectWs({ port, host: 'www.example.test', path: '/ws/chat?room=1' });
    assert.equal(await client.echo('hi'), 'ws:hi');
    client.close();
    assert.equal((b.ws as WsBackend).upgrades.at(-1)?.url, '/chat?room=1');
  });

  test('a host with paths only: its other paths go to the catch-all', async () => {
    assert.deepEqual(await seen('only.test', '/a/b'), ['api', '/a/b']);
    assert.deepEqual(await seen('only.test', '/b'), ['fallback', '/b']);
  });

  test('the admin API and `switchyard explain --path` name the path frontend a request path gets', async () => {
    const res = await instance.get('/route?host=www.example.test&path=/static/v1/app.js');
    assert.equal(res.status, 200, res.text);
    const { route } = JSON.parse(res.text) as { route: { key: string; id: string; rule: string } };
    assert.deepEqual([route.key, route.id, route.rule], ['www.example.test/static/v1', 'assets', 'exact']);
    const admin = `http://127.0.0.1:${instance.adminPort}`;
    const explained = await switchyard(['explain', 'www.example.test', '--path', '/api/v1?x', '--admin', admin]);
    assert.equal(explained.status, 0, shown(explained));
    assert.match(explained.stdout, /^www\.example\.test is served by the path frontend "www\.example\.test\/api" \(exact host, prefix \/api\) from the file source\n/);
    assert.match(explained.stdout, /stripPrefix: true/);
    const hostOnly = await switchyard(['explain', 'only.test', '--admin', admin]);
    assert.match(hostOnly.stdout, /served by the catch-all rule "\*"/, 'without a path, a paths-only host is served by the next level');
  });

  test('removing a path from the file sends its requests back to the host\'s own backends', async () => {
    instance.save(vhostsYaml(b, false));
    await waitFor(async () => (await seen('www.example.test', '/api/v1'))[0] === 'site', { message: '/api removed' });
    assert.deepEqual(await seen('www.example.test', '/api/v1'), ['site', '/api/v1']);
    assert.deepEqual(await seen('www.example.test', '/static/v1/x'), ['assets', '/static/v1/x']);
  });
});
