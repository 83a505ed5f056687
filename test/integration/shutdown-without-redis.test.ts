// SPEC §5 (SIGTERM drains) with Redis gone: a shutdown must not wait on a
// Redis that was stopped first (systemd or a container runtime often stops
// both at once), nor on idle keep-alive connections to backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startHttpBackend } from '../helpers/backends.js';
import { startRedis } from '../helpers/redis.js';
import { nameOf, startProxy } from '../helpers/redis-proxy.js';

describe('shutdown while Redis is gone or hung', () => {
  for (const how of ['killed', 'hung'] as const) test(`SIGTERM exits 0 within a few seconds with Redis ${how} and backend connections kept alive`, async (t) => {
    const redis = await startRedis({ scope: t });
    const backend = await startHttpBackend({ name: 'kept', scope: t });
    const slow = await startHttpBackend({ name: 'slow', delayMs: 2000, scope: t });
    const proxy = await startProxy({ driver: redis.url, scope: t });
    await redis.cmd('RPUSH', 'frontend:bye.test', 'bye', backend.url);
    // Keep-alive connections from the proxy to the backend stay open after these.
    for (let i = 0; i < 20; i++) assert.equal(nameOf(await proxy.get('bye.test')), 'kept');
    // Clients that give up while their requests wait on a slow backend, as a load generator does when it stops.
    await redis.cmd('RPUSH', 'frontend:slow.test', 'slow', slow.url);
    await Promise.all(Array.from({ length: 50 }, () => proxy.get('slow.test', { timeoutMs: 100 }).catch(() => null)));
    if (how === 'killed') await redis.kill();
    else await redis.freeze(); // SIGSTOP: connections stay open, QUIT is never answered
    const started = Date.now();
    const code = await proxy.sy.stop('SIGTERM', 15_000);
    const took = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(took < 5000, `shutdown took ${took} ms`);
    if (how === 'hung') await redis.thaw();
  });
});
