// Active health checks without Redis (SPEC §9): the master probes, and its
// marks reach every worker over IPC. The checked backend answers every other
// path with 200, so only the health checks can take it out of rotation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { HEALTH_PATH, startCheckedBackend, type CheckedBackend } from '../helpers/health.js';
import { request } from '../helpers/http.js';
import { nameOf } from '../helpers/redis-proxy.js';
import { delay, waitFor } from '../helpers/wait.js';

const CHECK = `{ path: ${HEALTH_PATH}, interval: 0.3, timeout: 0.2, unhealthyAfter: 2, healthyAfter: 3 }`;

function names(instance: FileInstance, host: string, n: number): Promise<string[]> {
  // Fresh connections: the kernel hands them to either worker.
  return Promise.all(Array.from({ length: n }, () => request({ port: instance.proxy.port, address: instance.proxy.address, host }).then(nameOf)));
}

async function backendState(instance: FileInstance, url: string): Promise<Record<string, any> | undefined> {
  const status = await instance.status();
  return (status.healthChecks?.listed as Record<string, any>[] | undefined)?.find((b) => b.backend === url);
}

describe('health checks without Redis, two workers', () => {
  test('a failing backend is avoided by every worker after unhealthyAfter checks, and revived after healthyAfter passes, not before', async () => {
    const good = await startCheckedBackend('good');
    const flaky = await startCheckedBackend('flaky');
    const instance = await startFileInstance(`vhosts:\n  hc.test:\n    backends: [${good.url}, ${flaky.url}]\n    healthCheck: ${CHECK}\n`, { workers: 2 });
    await waitFor(() => flaky.checks().length >= 2, { timeoutMs: 10_000, message: 'the backend being checked' });
    assert.equal(flaky.checks()[0]!.headers.host, 'hc.test', 'a check sends the frontend\'s Host');
    assert.ok((await names(instance, 'hc.test', 40)).includes('flaky'), 'a healthy backend gets traffic');

    flaky.health = 503;
    const failingFrom = flaky.checks().length;
    await waitFor(async () => (await backendState(instance, flaky.url))?.verdict === 'unhealthy', { timeoutMs: 10_000, message: 'flaky judged unhealthy' });
    assert.ok(flaky.checks().length - failingFrom >= 2, 'marked only after unhealthyAfter failed checks');
    // The mark is in every worker's table, not only in the one a request happens to reach.
    await waitFor(async () => {
      const { workers } = await instance.status();
      return workers.length === 2 && workers.every((w: { deadBackends: number }) => w.deadBackends === 1);
    }, { timeoutMs: 5000, message: 'the dead mark in both workers' });
    const trafficBefore = flaky.traffic().length;
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(new Set(await names(instance, 'hc.test', 30)), new Set(['good']), 'every worker avoids the unhealthy backend');
      await delay(400);
    }
    assert.equal(flaky.traffic().length, trafficBefore);
    // Still failing long after the mark's first TTL (4 intervals and a timeout): still avoided.
    await delay(1500);
    assert.deepEqual(new Set(await names(instance, 'hc.test', 30)), new Set(['good']), 'a still-failing backend stays out after its mark\'s first TTL');

    flaky.health = 200;
    const passingFrom = flaky.checks().length;
    await waitFor(() => flaky.checks().length >= passingFrom + 1, { timeoutMs: 5000, message: 'a first passing check' });
    assert.ok(!(await names(instance, 'hc.test', 20)).includes('flaky'), 'one pass does not revive it (healthyAfter 3)');
    await waitFor(async () => (await names(instance, 'hc.test', 20)).includes('flaky'), { timeoutMs: 10_000, message: 'flaky back in rotation' });
    assert.ok(flaky.checks().length - passingFrom >= 3, 'revived only after healthyAfter passes');
    const state = await backendState(instance, flaky.url);
    assert.equal(state?.verdict, 'healthy');
    assert.equal(state?.last.status, 200);

    const metrics = await instance.get('/metrics');
    assert.match(metrics.text, /switchyard_health_checks_total\{result="fail"\} [1-9]/);
    assert.match(metrics.text, /switchyard_health_checks_total\{result="pass"\} [1-9]/);
    assert.match(metrics.text, /switchyard_unhealthy_backends 0/);
  });

  test('a redirecting health endpoint passes and its Location is never requested', async () => {
    const elsewhere = await startCheckedBackend('elsewhere');
    const good = await startCheckedBackend('good');
    const redirecting = await startCheckedBackend('redirecting');
    redirecting.health = 302;
    redirecting.location = `${elsewhere.url}/stolen`;
    const instance = await startFileInstance(`vhosts:\n  redirect.test:\n    backends: [${good.url}, ${redirecting.url}]\n    healthCheck: ${CHECK}\n`);
    await waitFor(() => redirecting.checks().length >= 4, { timeoutMs: 10_000, message: 'checks of the redirecting backend' });
    const state = await backendState(instance, redirecting.url);
    assert.equal(state?.verdict, 'healthy');
    assert.equal(state?.last.status, 302);
    assert.equal(elsewhere.requests.length, 0, 'the redirect was followed');
    assert.ok((await names(instance, 'redirect.test', 30)).includes('redirecting'));
  });

  test('a vhost without healthCheck is never probed', async () => {
    const a = await startCheckedBackend('a');
    const b = await startCheckedBackend('b');
    const instance = await startFileInstance(`vhosts:\n  plain.test:\n    backends: [${a.url}, ${b.url}]\n`);
    await delay(1000);
    assert.equal(a.checks().length + b.checks().length, 0);
    assert.equal((await instance.status()).healthChecks?.backends, 0);
  });

  test('checks follow the vhosts file: a save that adds healthCheck starts them, one that turns it off stops them', async () => {
    const a = await startCheckedBackend('a');
    const b = await startCheckedBackend('b');
    const plain = `vhosts:\n  live.test:\n    backends: [${a.url}, ${b.url}]\n`;
    const instance = await startFileInstance(plain);
    instance.save(`${plain}    healthCheck: ${CHECK}\n`);
    await waitFor(() => a.checks().length >= 2 && b.checks().length >= 2, { timeoutMs: 10_000, message: 'checks once the file asks for them' });
    instance.save(`${plain}    healthCheck: false\n`);
    await delay(1500); // the prober learns of the change within a second; a check under way ends
    const after = a.checks().length + b.checks().length;
    await delay(1000);
    assert.equal(a.checks().length + b.checks().length, after, 'checks went on after the vhost turned them off');
  });
});
