// SPEC §6 "Reload rolls back": on SIGHUP a new generation of workers starts;
// if one of them fails to listen or dies within server.reloadTimeout seconds,
// the whole new generation is stopped and the old one serves on unchanged, at
// full strength; the failure is logged with its cause and shown in the admin
// status. A reload never leaves the proxy crash-looping or short of workers.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { onCleanup, type CleanupScope } from '../helpers/cleanup.js';
import { request } from '../helpers/http.js';
import { failures, startLoad } from '../helpers/load.js';
import { freePort } from '../helpers/ports.js';
import { childPids, isAlive, listeningWorkers, processStartedAt, uptimeSeconds } from '../helpers/processes.js';
import type { Stack } from '../helpers/stack.js';
import { selfSignedCert } from '../helpers/tls.js';
import { delay, waitFor } from '../helpers/wait.js';
import { expectAll200, rewriteConfig, twoWorkers, workersListening } from '../helpers/workers.js';

/** Short, so that the tests are, yet longer than a worker's start on a busy machine. */
const RELOAD_TIMEOUT = 5;

/** Two workers, the admin API, and `server` merged into the config (reloadTimeout 5 s unless given). */
async function reloadable(scope: CleanupScope | undefined, server: Record<string, unknown> = {}) {
  const adminPort = await freePort();
  const { stack } = await twoWorkers(scope, { reloadTimeout: RELOAD_TIMEOUT, ...server }, { admin: { port: adminPort } });
  const workers = await workersListening(stack, 2);
  const status = async () => JSON.parse((await request({ port: adminPort, host: '127.0.0.1', path: '/status' })).text);
  await waitFor(async () => (await status()).workers?.length === 2, { message: 'the admin API answering for both workers' });
  return { stack, workers, status };
}

/** A port held by another listener on `address` (any free port unless given). */
async function takenPort(scope?: CleanupScope, address = '127.0.0.1', port = 0): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)), scope);
  return (server.address() as net.AddressInfo).port;
}

function rolledBackLine(stack: Stack): string | undefined {
  return stack.proxy.logs().split('\n').find((line) => line.includes('reload rolled back'));
}

/** A reload whose new generation serves error_400.html with `text`. */
function reloadWithPage(stack: Stack, text: string): void {
  const staticDir = path.join(stack.dir, `pages-${text.replace(/\W/g, '')}`);
  mkdirSync(staticDir);
  writeFileSync(path.join(staticDir, 'error_400.html'), `<h1>${text}</h1>\n`);
  rewriteConfig(stack, (c) => void (c.server.staticDir = staticDir));
  stack.proxy.signal('SIGHUP');
}

async function pageServed(stack: Stack): Promise<string> {
  return (await stack.get('unknown.test')).text;
}

describe('a reload onto a port another listener holds', () => {
  let stack: Stack;
  let oldWorkers: number[];
  let status: () => Promise<any>;
  let taken: number;

  before(async () => {
    ({ stack, workers: oldWorkers, status } = await reloadable(undefined));
    taken = await takenPort();
  });

  test('is rolled back: the old generation serves on without a failed request, nothing crash-loops, the cause is logged and shown', async (t) => {
    const load = startLoad(() => stack.get('fast.test', { timeoutMs: 5000 }), { scope: t });
    await waitFor(() => load.outcomes.length >= 20, { message: 'load running' });
    rewriteConfig(stack, (c) => void (c.http.port = taken));
    stack.proxy.signal('SIGHUP');
    await waitFor(() => /failed to start error=/.test(stack.proxy.logs()), { message: 'a new worker failing to start' });
    // reloadTimeout and more: a crash loop forks and fails again and again meanwhile.
    await delay((RELOAD_TIMEOUT + 2) * 1000);
    const attempts = stack.proxy.logs().match(/failed to start error=/g)?.length ?? 0;
    assert.ok(attempts <= 2, `${attempts} workers failed to start in ${RELOAD_TIMEOUT + 2} s: a crash loop`);

    const line = rolledBackLine(stack);
    assert.ok(line, `a "reload rolled back" log line:\n${stack.proxy.logs()}`);
    assert.match(line, new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${taken}`), 'the cause names the address');
    await waitFor(() => String(childPids(stack.proxy.pid)) === String(oldWorkers), { message: 'only the old workers left' });
    assert.deepEqual(listeningWorkers(stack.proxy.pid, stack.proxy.port), oldWorkers);

    const { generation, reload } = await status();
    assert.equal(generation, 1, 'the old generation serves');
    assert.equal(reload?.outcome, 'rolled-back', JSON.stringify(reload));
    assert.equal(reload.generation, 2);
    assert.match(reload.cause, new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${taken}`));

    const outcomes = await load.stop();
    const failed = failures(outcomes).map((o) => `${o.status || o.error}`);
    assert.deepEqual(failed, [], `no request failed during and after the reload (${outcomes.length} sent)`);
  });

  test('then an old worker that dies is replaced within a second, with the old config', async () => {
    const [victim, survivor] = oldWorkers as [number, number];
    const killedAt = uptimeSeconds();
    process.kill(victim, 'SIGKILL');
    // The new config's port is taken: listening on the old one is running the old config.
    const [replacement] = await waitFor(
      () => {
        const pids = listeningWorkers(stack.proxy.pid, stack.proxy.port).filter((p) => p !== victim && p !== survivor);
        return pids.length > 0 ? pids : null;
      },
      { timeoutMs: 10_000, message: 'a replacement listening on the old port' },
    );
    const forkedIn = processStartedAt(replacement!) - killedAt;
    assert.ok(forkedIn <= 1, `replacement forked ${forkedIn.toFixed(2)} s after the kill`);
    assert.deepEqual(await workersListening(stack, 2), [survivor, replacement].sort((a, b) => a! - b!), 'two workers, as configured');
    await expectAll200(stack, 20, 'after the replacement');
    assert.equal((await status()).generation, 1);
  });
});

test('a reload onto a second bind address that is taken is rolled back without resetting a connection a new worker accepted', async (t) => {
  // The new workers bind 127.0.0.1 (shared with the old ones) before failing on 127.0.0.2: they accept meanwhile.
  const { stack, workers } = await reloadable(t);
  await takenPort(t, '127.0.0.2', stack.proxy.port);
  const load = startLoad(() => stack.get('fast.test', { timeoutMs: 5000 }), { concurrency: 8, scope: t });
  await waitFor(() => load.outcomes.length >= 20, { message: 'load running' });
  rewriteConfig(stack, (c) => void (c.http.bind = ['127.0.0.1', '127.0.0.2']));
  stack.proxy.signal('SIGHUP');
  const line = await waitFor(() => rolledBackLine(stack), { timeoutMs: 10_000, message: 'a "reload rolled back" log line' });
  assert.match(line, new RegExp(`EADDRINUSE 127\\.0\\.0\\.2:${stack.proxy.port}`));
  assert.deepEqual(await workersListening(stack, 2), workers);
  const outcomes = await load.stop();
  const failed = failures(outcomes).map((o) => `${o.status || o.error}`);
  assert.deepEqual(failed, [], `no request failed (${outcomes.length} sent)`);
});

test('a reload whose key does not match its certificate is rolled back, with that cause', async (t) => {
  const { stack, workers, status } = await reloadable(t);
  const [one, other] = [selfSignedCert(t), selfSignedCert(t)];
  const httpsPort = await freePort();
  rewriteConfig(stack, (c) => void (c.https = { port: httpsPort, bind: ['127.0.0.1'], key: one.key, cert: other.cert }));
  stack.proxy.signal('SIGHUP');
  const line = await waitFor(() => rolledBackLine(stack), { timeoutMs: 10_000, message: 'a "reload rolled back" log line' });
  assert.match(line, /key values mismatch/);
  await delay((RELOAD_TIMEOUT + 1) * 1000);
  assert.ok((stack.proxy.logs().match(/failed to start error=/g)?.length ?? 0) <= 2, 'no crash loop');
  assert.deepEqual(await workersListening(stack, 2), workers, 'the old workers, and only them');
  assert.deepEqual(listeningWorkers(stack.proxy.pid, httpsPort), [], 'nothing on the new https port');
  const { reload } = await status();
  assert.equal(reload?.outcome, 'rolled-back');
  assert.match(reload.cause, /key values mismatch/);
  await expectAll200(stack, 20, 'after the rollback');
});

test('a new worker that dies after listening, within reloadTimeout, rolls the reload back', async (t) => {
  const reloadTimeout = 6;
  const { stack, workers, status } = await reloadable(t, { reloadTimeout });
  const hupAt = Date.now();
  reloadWithPage(stack, 'generation two');
  const newWorker = await waitFor(() => listeningWorkers(stack.proxy.pid, stack.proxy.port).find((p) => !workers.includes(p)), {
    timeoutMs: 10_000,
    intervalMs: 20,
    message: 'a worker of the new generation listening',
  });
  process.kill(newWorker, 'SIGKILL'); // a crash, as the OOM killer would do it
  assert.ok(Date.now() - hupAt < reloadTimeout * 1000, 'killed within reloadTimeout');

  const line = await waitFor(() => rolledBackLine(stack), { timeoutMs: 5000, message: 'a "reload rolled back" log line' });
  assert.match(line, /SIGKILL/);
  assert.deepEqual(await workersListening(stack, 2), workers, 'the new generation stopped, the old one kept');
  await delay(reloadTimeout * 1000 - (Date.now() - hupAt) + 500); // past the probation: nothing swaps after all
  assert.deepEqual(childPids(stack.proxy.pid), workers);
  for (let i = 0; i < 20; i++) assert.doesNotMatch(await pageServed(stack), /generation two/, 'the old config serves');
  assert.equal((await status()).reload?.outcome, 'rolled-back');
});

test('a new generation over workerMemoryLimit within reloadTimeout is rolled back instead of churning', async (t) => {
  const { stack, workers, status } = await reloadable(t);
  // 1 MiB: every new worker is over the limit at its first check, 0.5 s after it listens.
  rewriteConfig(stack, (c) => void Object.assign(c.server, { workerMemoryLimit: 1, memoryCheckInterval: 0.5 }));
  stack.proxy.signal('SIGHUP');
  const line = await waitFor(() => rolledBackLine(stack), { timeoutMs: 10_000, message: 'a "reload rolled back" log line' });
  assert.match(line, /over the memory limit/);
  assert.deepEqual(await workersListening(stack, 2), workers);
  assert.equal((await status()).reload?.outcome, 'rolled-back');
});

test('an old worker dying while a reload is on probation is replaced with the old config', async (t) => {
  const { stack, workers } = await reloadable(t, { reloadTimeout: 8 });
  const newPort = await freePort();
  rewriteConfig(stack, (c) => void (c.http.port = newPort));
  stack.proxy.signal('SIGHUP');
  const newWorkers = await waitFor(() => listeningOn(stack, newPort, 2), { timeoutMs: 10_000, message: 'the new generation listening' });
  const [victim, survivor] = workers as [number, number];
  process.kill(victim, 'SIGKILL');
  const replacement = await waitFor(() => listeningOn(stack, stack.proxy.port, 1, [victim, survivor]), {
    timeoutMs: 10_000,
    message: 'a replacement on the old port',
  });
  assert.doesNotMatch(stack.proxy.logs(), /reload applied/, 'the replacement came during the probation');
  assert.deepEqual(listeningOn(stack, newPort, 2), newWorkers, 'and not on the new port');
  // Then the reload applies: the new generation alone, on the new port.
  await waitFor(() => /reload applied/.test(stack.proxy.logs()), { timeoutMs: 10_000, message: 'the reload applied' });
  assert.deepEqual(await workersListening(stack, 2, 10_000, newPort), newWorkers);
  assert.ok(!isAlive(replacement[0]!), 'the old generation, its replacement included, drained');
});

/** The proxy's workers listening on `port` but `except`, when there are `n` of them. */
function listeningOn(stack: Stack, port: number, n: number, except: number[] = []): number[] | null {
  const pids = listeningWorkers(stack.proxy.pid, port).filter((p) => !except.includes(p));
  return pids.length === n ? pids : null;
}

test('a good reload applies once reloadTimeout has passed: new config served, old workers drained, no request lost', async (t) => {
  const { stack, workers, status } = await reloadable(t);
  const load = startLoad(() => stack.get('fast.test', { timeoutMs: 5000 }), { scope: t });
  await waitFor(() => load.outcomes.length >= 20, { message: 'load running' });
  reloadWithPage(stack, 'reloaded page');
  await waitFor(() => /reload applied/.test(stack.proxy.logs()), { timeoutMs: 10_000, message: 'a "reload applied" log line' });
  const after = await workersListening(stack, 2);
  assert.deepEqual(after.filter((p) => workers.includes(p)), [], 'the old generation drained');
  assert.ok(workers.every((p) => !isAlive(p)));
  for (let i = 0; i < 20; i++) assert.match(await pageServed(stack), /reloaded page/, 'every worker serves the new config');
  const { generation, reload } = await status();
  assert.equal(generation, 2);
  assert.deepEqual({ outcome: reload?.outcome, cause: reload?.cause, generation: reload?.generation }, { outcome: 'applied', cause: null, generation: 2 });
  const outcomes = await load.stop();
  const failed = failures(outcomes).map((o) => `${o.status || o.error}`);
  assert.deepEqual(failed, [], `no request failed during the reload (${outcomes.length} sent)`);
});

test('an invalid file on SIGHUP is rejected: no generation starts, /status says why', async (t) => {
  const { stack, workers, status } = await reloadable(t);
  rewriteConfig(stack, (c) => void (c.server.workers = 'two'));
  stack.proxy.signal('SIGHUP');
  const { generation, reload } = await waitFor(async () => {
    const answer = await status();
    return answer.reload?.outcome === 'rejected' ? answer : null;
  }, { message: '/status showing the rejection' });
  assert.equal(generation, 1);
  assert.equal(reload.generation, null);
  assert.match(reload.cause, /\/server\/workers/);
  assert.deepEqual(childPids(stack.proxy.pid), workers);
});

test('a second SIGHUP during the probation wins: the first new generation stops, the latest config applies', async (t) => {
  const { stack, workers, status } = await reloadable(t);
  reloadWithPage(stack, 'first edit');
  const first = await waitFor(() => childPids(stack.proxy.pid).filter((p) => !workers.includes(p)), { message: 'the first new generation forked' });
  reloadWithPage(stack, 'second edit');
  await waitFor(() => /reload applied/.test(stack.proxy.logs()), { timeoutMs: 15_000, message: 'a "reload applied" log line' });
  assert.match(stack.proxy.logs(), /reload superseded/);
  assert.equal((stack.proxy.logs().match(/reload applied/g) ?? []).length, 1, 'one reload applied');
  const after = await workersListening(stack, 2);
  assert.deepEqual(after.filter((p) => workers.includes(p) || first.includes(p)), [], 'the serving workers are the latest generation');
  for (let i = 0; i < 20; i++) assert.match(await pageServed(stack), /second edit/);
  assert.equal((await status()).generation, 3);
});

test('SIGTERM during a pending reload drains both generations; the master exits 0', async (t) => {
  const { stack, workers } = await reloadable(t, { reloadTimeout: 10 });
  reloadWithPage(stack, 'pending');
  const pending = await waitFor(() => {
    const pids = listeningWorkers(stack.proxy.pid, stack.proxy.port).filter((p) => !workers.includes(p));
    return pids.length === 2 ? pids : null;
  }, { timeoutMs: 10_000, message: 'the new generation listening' });
  const code = await stack.proxy.stop('SIGTERM', 8000);
  assert.equal(code, 0, stack.proxy.logs().slice(-3000));
  assert.deepEqual([...workers, ...pending].filter(isAlive), [], 'no worker outlives the master');
});
