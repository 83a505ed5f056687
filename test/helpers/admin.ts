// A proxy serving a vhosts file, with its admin API, and requests to that
// API (with the token, when one is set): for the admin listener's tests.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupScope } from './cleanup.js';
import { request, type HttpResponse } from './http.js';
import { freePort } from './ports.js';
import { startSwitchyard, type Switchyard } from './switchyard.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface FileInstance {
  proxy: Switchyard;
  adminPort: number;
  vhosts: string;
  token: string | null;
  /** Saves the vhosts file as most editors do (a temp file renamed over it). */
  save(text: string): void;
  /** GET on the admin API, with the token as a bearer token when there is one. */
  get(path: string): Promise<HttpResponse>;
  status(): Promise<Record<string, any>>;
}

export interface FileInstanceOptions {
  workers?: number;
  /** More `server` settings (workers is `workers`). */
  server?: Record<string, unknown>;
  token?: string;
  /** Merged into the config (an `https` listener, say). */
  extra?: Record<string, unknown>;
  scope?: CleanupScope;
}

export async function startFileInstance(vhostsText: string, opts: FileInstanceOptions = {}): Promise<FileInstance> {
  const vhosts = join(tempDir('admin', opts.scope), 'vhosts.yaml');
  writeFileSync(vhosts, vhostsText);
  const adminPort = await freePort();
  const token = opts.token ?? null;
  const proxy = await startSwitchyard(
    {
      server: { workers: opts.workers ?? 1, ...opts.server },
      http: { bind: ['127.0.0.1'] },
      file: { path: vhosts },
      ...opts.extra,
      admin: token === null ? { port: adminPort } : { port: adminPort, token },
    },
    { scope: opts.scope },
  );
  const get = (path: string) =>
    request({ port: adminPort, host: '127.0.0.1', path, headers: token === null ? {} : { authorization: `Bearer ${token}` }, timeoutMs: 10_000 });
  const instance: FileInstance = {
    proxy,
    adminPort,
    vhosts,
    token,
    save(text) {
      writeFileSync(`${vhosts}.tmp`, text);
      renameSync(`${vhosts}.tmp`, vhosts);
    },
    get,
    async status() {
      const res = await get('/status');
      assert.equal(res.status, 200, res.text);
      return JSON.parse(res.text) as Record<string, any>;
    },
  };
  // The admin API starts beside the workers: wait until every worker answers it with a loaded table.
  const workers = opts.workers ?? 1;
  await waitFor(async () => {
    const res = await get('/status');
    const status = res.status === 200 ? (JSON.parse(res.text) as { loaded: boolean; workers: unknown[] }) : null;
    return status !== null && status.loaded && status.workers.length === workers;
  }, { timeoutMs: 15_000, message: 'every worker answering the admin API with a table' });
  return instance;
}
