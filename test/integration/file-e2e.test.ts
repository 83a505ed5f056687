// The file source through the real proxy (bin/switchyard.js, master and
// workers, no Redis): editing the vhosts file changes what the next requests
// get, and `switchyard` with no configuration at all serves the example.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEMO_BACKEND_PORT } from '../../app/cli/demo.js';
import { startHttpBackend } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { json, request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { spawnCaptured } from '../helpers/process.js';
import { binPath, isReady, startSwitchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

function yaml(hosts: Record<string, string[]>): string {
  return `vhosts:\n${Object.entries(hosts).map(([h, urls]) => `  ${h}:\n    backends: [${urls.join(', ')}]\n`).join('')}`;
}

/** Saves like most editors do: write a temp file, rename it over the old one. */
function save(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('file source end to end', () => {
  test('editing the vhosts file changes what the next requests get, in every worker; an invalid edit changes nothing', async (t) => {
    const alpha = await startHttpBackend({ name: 'alpha', scope: t });
    const beta = await startHttpBackend({ name: 'beta', scope: t });
    const vhosts = join(tempDir('e2e', t), 'vhosts.yaml');
    writeFileSync(vhosts, yaml({ 'app.test': [alpha.url] }));
    const proxy = await startSwitchyard({ http: { bind: ['127.0.0.1'] }, server: { workers: 2 }, file: { path: vhosts } }, { scope: t });
    const answeredBy = async (host: string) => {
      const res = await request({ port: proxy.port, host });
      return res.status === 200 ? json<{ name: string }>(res).name : `status ${res.status}`;
    };
    /** Who answered several requests (spread over the workers). */
    const answers = (host: string) => Promise.all([1, 2, 3, 4, 5, 6].map(() => answeredBy(host)));
    const allFrom = async (host: string, name: string) => (await answers(host)).every((n) => n === name);

    assert.equal(await answeredBy('app.test'), 'alpha');
    assert.equal(await answeredBy('other.test'), 'status 400');

    save(vhosts, yaml({ 'app.test': [beta.url], 'other.test': [alpha.url] }));
    await waitFor(() => allFrom('app.test', 'beta'), { message: 'app.test moved to beta' });
    await waitFor(() => allFrom('other.test', 'alpha'), { message: 'other.test added' });
    // A worker that reads only after the next save would skip this version: its "last valid" would be an older one.
    const appliedBy = () => new Set([...proxy.logs().matchAll(/worker (\d+) \[file\] vhosts applied .* hosts=2 /g)].map((m) => m[1])).size;
    await waitFor(() => appliedBy() === 2, { message: 'both workers applied the version with two hosts' });

    save(vhosts, yaml({ 'app.test': ['ftp://127.0.0.1:21'], 'other.test': [alpha.url] }));
    const reported = `file=${vhosts} line=3 column=16 path=/vhosts/app.test/backends/0 reason="must be an http:// or https:// URL"`;
    await waitFor(() => proxy.logs().includes(reported), { message: 'the rejected host reported with its location' });
    assert.deepEqual(await answers('app.test'), Array(6).fill('beta'), 'app.test keeps its last valid version');
  });

  test('with no configuration at all, `switchyard` serves the example vhosts through its demo backend', async (t) => {
    if (!(await portIsFree(DEMO_BACKEND_PORT))) return t.skip(`127.0.0.1:${DEMO_BACKEND_PORT} (the demo backend's port) is in use`);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
    delete env['SETTINGS_FLAVOR'];
    // An empty working directory: nothing to find there, and examples/ must be found from the package.
    const proc = spawnCaptured(process.execPath, [binPath], { cwd: tempDir('empty-cwd', t), env });
    onCleanup(() => proc.stop('SIGTERM', 5000), t);
    await waitFor(
      async () => {
        if (proc.hasExited()) throw new Error(`exited early:\n${proc.output()}`);
        return isReady(port);
      },
      { timeoutMs: 15_000, message: `the example mode answering on 127.0.0.1:${port}` },
    );

    const res = await request({ port, host: 'www.example.com' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'Hello from Switchyard: www.example.com was routed to the demo backend.\n');
    const page = await request({ port, host: 'api.example.com', headers: { accept: 'text/html' } });
    assert.match(page.text, /<h1>Hello from Switchyard<\/h1>[\s\S]*<strong>api\.example\.com<\/strong>/);
    assert.ok(proc.output().includes(`curl -H 'Host: www.example.com' http://127.0.0.1:${port}/`), proc.output());
  });
});
