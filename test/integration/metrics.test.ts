// The instance's /metrics (SPEC §8): one admin listener for all workers, every
// metric SPEC §8 names, counted from real traffic through a CLI-started proxy
// with two workers, a real redis-server and real backends.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import { refusingPort, startHttpBackend, startWsBackend, type Backend } from '../helpers/backends.js';
import { hipacheConfig } from '../helpers/config.js';
import { adminReady } from '../helpers/front.js';
import { json, request } from '../helpers/http.js';
import { scrape, total, type Sample } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { repoRoot, startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { connectWs } from '../helpers/ws-client.js';

interface WorkerStatus {
  worker: string;
  pid: number;
  requests: number;
}

describe('/metrics of an instance with two workers', () => {
  let redis: RedisServer;
  let proxy: Switchyard;
  let adminPort: number;
  let backend: Backend;

  const status = async () => json<{ workers: WorkerStatus[]; silent: number[] }>(await request({ port: adminPort, host: '127.0.0.1', path: '/status' }));
  const get = (host: string, path = '/') => request({ port: proxy.port, host, path, timeoutMs: 5000 });

  before(async () => {
    redis = await startRedis();
    adminPort = await freePort();
    const { key, cert } = selfSignedCert();
    const config = {
      ...hipacheConfig({ redisUrl: redis.url, dir: tempDir('metrics'), server: { workers: 2, deadBackendTTL: 30 } }),
      https: { port: await freePort(), bind: ['127.0.0.1'], key, cert },
      admin: { port: adminPort },
      metrics: { hosts: ['labelled.test', '*.pattern.test'] },
    };
    proxy = await startSwitchyard(config);
    await adminReady(adminPort);
    await waitFor(async () => (await status()).workers.length === 2, { message: 'both workers answering the admin API' });
    backend = await startHttpBackend({ name: 'app' });
    await redis.cmd('RPUSH', 'frontend:app.test', 'app', backend.url);
  });

  test('counts every request of every worker: N requests on their own connections are N in switchyard_requests_total', async () => {
    // Requests to hosts without a label of their own.
    const gets = (samples: Sample[]) =>
      samples.filter((s) => s.name === 'switchyard_requests_total' && s.labels.code === '200' && s.labels.method === 'GET' && s.labels.host === undefined).reduce((a, s) => a + s.value, 0);
    const before = gets((await scrape(adminPort)).samples);
    const n = 200;
    for (let i = 0; i < n; i++) assert.equal((await get('app.test')).status, 200);
    const { samples } = await scrape(adminPort);
    assert.equal(gets(samples) - before, n);
    // Both workers served some: the total is theirs added up, not one worker's.
    const workers = (await status()).workers;
    assert.equal(workers.length, 2);
    assert.ok(workers.every((w) => w.requests > 0), `requests per worker: ${workers.map((w) => w.requests).join(', ')}`);
    assert.equal(total(samples, 'switchyard_request_duration_seconds_count') >= n, true);
    assert.equal(total(samples, 'switchyard_request_duration_seconds_bucket', { le: '+Inf' }), total(samples, 'switchyard_request_duration_seconds_count'));
  });

  test('every metric SPEC §8 names is there, with its type', async () => {
    const { types } = await scrape(adminPort);
    const expected: Record<string, string> = {
      switchyard_requests_total: 'counter',
      switchyard_request_duration_seconds: 'histogram',
      switchyard_backend_errors_total: 'counter',
      switchyard_retries_total: 'counter',
      switchyard_open_connections: 'gauge',
      switchyard_frontends: 'gauge',
      switchyard_source_up: 'gauge',
      switchyard_config_events_total: 'counter',
      switchyard_dead_backends: 'gauge',
      switchyard_worker_restarts_total: 'counter',
      switchyard_tls_certificates: 'gauge',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(types.get(name), type, name);
  });

  test('a refused backend: backend_errors_total{reason="connect_refused"}, a retry, a dead mark', async () => {
    const closed = await refusingPort();
    await redis.cmd('RPUSH', 'frontend:retry.test', 'retry', `http://127.0.0.1:${closed}`, backend.url);
    const before = (await scrape(adminPort)).samples;
    // Random choice: until one request has met the refusing backend first.
    await waitFor(
      async () => {
        assert.equal((await get('retry.test')).status, 200);
        return total((await scrape(adminPort)).samples, 'switchyard_retries_total') > total(before, 'switchyard_retries_total');
      },
      { message: 'a request retried after the refused backend' },
    );
    const { samples } = await scrape(adminPort);
    assert.ok(total(samples, 'switchyard_backend_errors_total', { reason: 'connect_refused' }) > total(before, 'switchyard_backend_errors_total', { reason: 'connect_refused' }));
    assert.ok(total(samples, 'switchyard_dead_backends') >= 1, 'the refusing backend is marked dead');
  });

  test('open connections by protocol: an open WebSocket tunnel is counted (its upgrade as a 101 request), and no longer once closed', async () => {
    const ws = await startWsBackend();
    await redis.cmd('RPUSH', 'frontend:ws.test', 'ws', ws.url);
    const upgrades = async () => total((await scrape(adminPort)).samples, 'switchyard_requests_total', { code: '101', method: 'GET' });
    const before = await upgrades();
    const client = await connectWs({ port: proxy.port, host: 'ws.test' });
    const open = async () => total((await scrape(adminPort)).samples, 'switchyard_open_connections', { protocol: 'websocket' });
    assert.equal(await open(), 1);
    // The upgrade is a request, counted once its 101 is relayed, not when the tunnel ends.
    assert.equal((await upgrades()) - before, 1);
    client.close();
    await waitFor(async () => (await open()) === 0, { message: 'the closed tunnel no longer counted' });
    const { samples } = await scrape(adminPort);
    for (const protocol of ['http', 'https']) assert.ok(samples.some((s) => s.name === 'switchyard_open_connections' && s.labels.protocol === protocol), protocol);
  });

  test('the table and its source: frontends, source_up and config events (a write counts one frontend-set)', async () => {
    const before = (await scrape(adminPort)).samples;
    assert.equal(total(before, 'switchyard_source_up', { source: 'redis' }), 1);
    await redis.cmd('RPUSH', 'frontend:new.test', 'new', backend.url);
    assert.equal((await get('new.test')).status, 200);
    const { samples } = await scrape(adminPort);
    // Every worker applied the same event: the instance counts it once.
    assert.equal(
      total(samples, 'switchyard_config_events_total', { source: 'redis', type: 'frontend-set' }) -
        total(before, 'switchyard_config_events_total', { source: 'redis', type: 'frontend-set' }),
      1,
    );
    assert.equal(total(samples, 'switchyard_frontends', { source: 'redis' }), total(before, 'switchyard_frontends', { source: 'redis' }) + 1);
    assert.equal(total(samples, 'switchyard_tls_certificates', { source: 'config' }), 1);
  });

  test('metrics.hosts: a listed host and a pattern get their own host label; any other host none', async () => {
    for (const host of ['labelled.test', 'a.pattern.test', 'b.pattern.test']) await redis.cmd('RPUSH', `frontend:${host}`, host, backend.url);
    for (const host of ['labelled.test', 'a.pattern.test', 'b.pattern.test', 'app.test']) assert.equal((await get(host)).status, 200);
    const { samples } = await scrape(adminPort);
    const hosts = new Set(samples.filter((s) => s.name === 'switchyard_requests_total').map((s) => s.labels.host));
    assert.deepEqual([...hosts].sort(), ['*.pattern.test', 'labelled.test', undefined].sort());
    assert.equal(total(samples, 'switchyard_requests_total', { host: '*.pattern.test' }), 2);
    assert.equal(total(samples, 'switchyard_request_duration_seconds_count', { host: 'labelled.test' }), 1);
  });

  test('the example alert rules and Grafana dashboard name only metrics the instance exposes', async () => {
    const { samples, types } = await scrape(adminPort);
    // A histogram's samples are name_bucket, name_sum and name_count; `up` is Prometheus' own.
    const exposed = new Set([...samples.map((s) => s.name), ...types.keys(), 'up']);
    const named = (expr: string) => [...expr.matchAll(/\b(switchyard_\w+|process_\w+|nodejs_\w+|up)\b(?=\s*[{[)=><!]|\s*$)/g)].map((m) => m[1]!);
    const rules = (YAML.parse(readFileSync(path.join(repoRoot, 'examples', 'alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'examples', 'grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const queries = [
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: t.expr }))),
    ];
    assert.ok(rules.length >= 5 && dashboard.panels.length >= 8);
    for (const { where, expr } of queries) {
      const names = named(expr);
      assert.ok(names.length > 0, `${where} names a metric: ${expr}`);
      for (const name of names) assert.ok(exposed.has(name), `${where}: ${name} is not exposed`);
    }
  });

  test('process metrics per worker (and the master), and counters that never go back when a worker dies', async () => {
    for (let i = 0; i < 40; i++) assert.equal((await get('app.test')).status, 200);
    const first = await scrape(adminPort);
    const workers = new Set(first.samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => s.labels.worker));
    assert.equal(workers.size, 3, `process metrics of two workers and the master: ${[...workers].join(', ')}`);
    const served = total(first.samples, 'switchyard_requests_total');
    // A worker that served some of them (the scrape above is the last word the master has from it).
    const victim = (await status()).workers.find((w) => w.requests > 0)!.pid;
    process.kill(victim, 'SIGKILL');
    // Meanwhile the other worker serves: the instance stays ready.
    const readiness: number[] = [];
    await waitFor(
      async () => {
        readiness.push((await request({ port: adminPort, host: '127.0.0.1', path: '/readyz' })).status);
        const workers = (await status()).workers;
        return workers.length === 2 && !workers.some((w) => w.pid === victim);
      },
      { timeoutMs: 10_000, intervalMs: 10, message: 'the killed worker replaced' },
    );
    assert.deepEqual([...new Set(readiness)], [200], 'ready all along');
    const after = await scrape(adminPort);
    assert.equal(total(after.samples, 'switchyard_worker_restarts_total'), 1);
    assert.ok(total(after.samples, 'switchyard_requests_total') >= served, 'the dead worker\'s requests are still counted');
  });
});

describe('/healthz and /readyz', () => {
  test('/healthz is 200 while the process runs; /readyz is 503 until the source has loaded, 200 then, 503 while draining', async () => {
    const redis = await startRedis();
    await redis.stop(); // not there yet when the proxy starts
    const adminPort = await freePort();
    const config = { ...hipacheConfig({ redisUrl: redis.url, dir: tempDir('readyz'), server: { drainTimeout: 10 } }), admin: { port: adminPort } };
    const proxy = await startSwitchyard(config);
    const probe = (path: string) => request({ port: adminPort, host: '127.0.0.1', path });
    await waitFor(async () => (await probe('/healthz')).status === 200, { message: '/healthz answering' });
    assert.equal((await probe('/healthz')).text, 'ok\n');
    const notReady = await probe('/readyz');
    assert.equal(notReady.status, 503, notReady.text);
    assert.match(notReady.text, /redis/);

    await redis.restart();
    const slow = await startHttpBackend({ name: 'slow', delayMs: 1500 }); // under tcpTimeout (2 s)
    await redis.cmd('RPUSH', 'frontend:slow.test', 'slow', slow.url);
    await waitFor(async () => (await probe('/readyz')).status === 200, { timeoutMs: 10_000, message: '/readyz 200 once redis is loaded' });

    // A request in flight holds the drain: meanwhile the instance says it is not ready.
    const inFlight = request({ port: proxy.port, host: 'slow.test', timeoutMs: 10_000 });
    await waitFor(() => slow.requests.length === 1, { message: 'the slow request at the backend' });
    proxy.signal('SIGTERM');
    await waitFor(async () => (await probe('/readyz')).status === 503, { message: '/readyz 503 while draining' });
    assert.match((await probe('/readyz')).text, /draining/);
    assert.equal((await probe('/healthz')).status, 200);
    assert.equal((await inFlight).status, 200);
    assert.equal(await proxy.exited, 0);
  });

  test('server.shutdownDelay: after SIGTERM /readyz says 503 at once while the proxy still serves new requests; then it drains', async () => {
    const redis = await startRedis();
    const adminPort = await freePort();
    const config = { ...hipacheConfig({ redisUrl: redis.url, dir: tempDir('shutdown-delay'), server: { shutdownDelay: 3 } }), admin: { port: adminPort } };
    const proxy = await startSwitchyard(config);
    const backend = await startHttpBackend({ name: 'app' });
    await redis.cmd('RPUSH', 'frontend:app.test', 'app', backend.url);
    const probe = (path: string) => request({ port: adminPort, host: '127.0.0.1', path });
    await waitFor(async () => (await probe('/readyz')).status === 200, { timeoutMs: 10_000, message: '/readyz 200' });
    const signalled = Date.now();
    proxy.signal('SIGTERM');
    await waitFor(async () => (await probe('/readyz')).status === 503, { message: '/readyz 503 after SIGTERM' });
    // Still within the delay: a new connection is served.
    const res = await request({ port: proxy.port, host: 'app.test', timeoutMs: 5000 });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - signalled < 3000, 'served within the delay');
    assert.equal(await proxy.exited, 0);
    assert.ok(Date.now() - signalled >= 3000, `exited ${Date.now() - signalled} ms after SIGTERM, not before the delay`);
  });
});
