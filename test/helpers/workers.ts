// A proxy with several workers, seen from outside: which of its workers
// listen, whether every request gets its 200, and rewriting its config file
// for a SIGHUP.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHttpBackend } from './backends.js';
import type { CleanupScope } from './cleanup.js';
import { hipacheConfig } from './config.js';
import { request } from './http.js';
import { childPids, listeningWorkers } from './processes.js';
import { startRedis } from './redis.js';
import type { Stack } from './stack.js';
import { startSwitchyard } from './switchyard.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

/**
 * A proxy with two workers, a fast route (fast.test) and a 1.5 s one
 * (slow.test). Without a scope everything lives until the end of the file.
 */
export async function twoWorkers(scope: CleanupScope | undefined, server: Record<string, unknown> = {}, topLevel: Record<string, unknown> = {}) {
  // Redis lives until the end of the file (newest-first cleanup): a test's own
  // t.after hooks run oldest first and would stop it before the proxy.
  const redis = await startRedis();
  const dir = tempDir('workers', scope);
  const config = { ...hipacheConfig({ redisUrl: redis.url, dir, server: { workers: 2, ...server } }), ...topLevel };
  const proxy = await startSwitchyard(config, { scope });
  const stack: Stack = {
    redis,
    proxy,
    dir,
    accessLog: path.join(dir, 'access.log'),
    setFrontend: async (host, identifier, ...urls) => void (await redis.cmd('RPUSH', `frontend:${host}`, identifier, ...urls)),
    get: (host, o = {}) => request({ ...o, port: proxy.port, host }),
  };
  const fast = await startHttpBackend({ name: 'fast', scope });
  const slow = await startHttpBackend({ name: 'slow', delayMs: 1500, scope });
  await stack.setFrontend('fast.test', 'fast', fast.url);
  await stack.setFrontend('slow.test', 'slow', slow.url);
  return { stack, fast, slow };
}

/** Waits until `n` workers listen on `port` (the proxy's by default), and no other child runs; returns their pids. */
export function workersListening(stack: Stack, n: number, timeoutMs = 10_000, port = stack.proxy.port): Promise<number[]> {
  return waitFor(
    () => {
      const pids = listeningWorkers(stack.proxy.pid, port);
      return pids.length === n && childPids(stack.proxy.pid).length === n ? pids : null;
    },
    { timeoutMs, message: `${n} workers listening on ${port}` },
  );
}

export async function expectAll200(stack: Stack, n: number, label: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await stack.get('fast.test', { timeoutMs: 5000 });
    assert.equal(res.status, 200, `${label}: request ${i}: ${res.status} ${res.text.slice(0, 200)}`);
  }
}

/** Writes a new version of the proxy's config file (from the one it started with). */
export function rewriteConfig(stack: Stack, change: (config: Record<string, any>) => unknown): void {
  const config = structuredClone(stack.proxy.config);
  const next = change(config) ?? config;
  writeFileSync(stack.proxy.configPath, typeof next === 'string' ? next : JSON.stringify(next, null, 2));
}
