// SPEC §5: a master and `server.workers` workers; a dead worker is replaced
// within a second while the others keep serving; over-memory workers drain and
// are replaced; SIGTERM drains; SIGHUP reloads without dropping a connection.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { failures, startLoad } from '../helpers/load.js';
import { childPids, isAlive, listeningWorkers, uidsOf } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { expectAll200, rewriteConfig, twoWorkers, workersListening } from '../helpers/workers.js';

describe('worker processes', () => {
  test('server.workers: 2 forks two workers and each one serves on its own', async (t) => {
    const { stack } = await twoWorkers(t);
    const workers = await workersListening(stack, 2);
    await expectAll200(stack, 50, 'both running');
    // Stop one worker at a time: the other alone must answer everything.
    for (const pid of workers) {
      process.kill(pid, 'SIGSTOP');
      try {
        await expectAll200(stack, 20, `worker ${pid} stopped`);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    }
  });

  test('workers run with the young-generation cap; the master keeps node\'s defaults', async (t) => {
    const { stack } = await twoWorkers(t);
    const args = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const pid of await workersListening(stack, 2)) assert.ok(args(pid).includes('--max-semi-space-size=8'), `worker ${pid}: ${args(pid).join(' ')}`);
    assert.ok(!args(stack.proxy.pid).some((arg) => arg.startsWith('--max-semi-space-size')));
  });

  test('a worker killed with SIGKILL is replaced within a second; the other keeps serving', async (t) => {
    const { stack } = await twoWorkers(t);
    const [victim, survivor] = await workersListening(stack, 2);
    const concurrency = 4;
    const load = startLoad(() => stack.get('fast.test', { timeoutMs: 5000 }), { concurrency, scope: t });
    await waitFor(() => load.outcomes.length >= 50, { message: 'load running' });
    const killedAt = Date.now();
    process.kill(victim!, 'SIGKILL');
    const replacement = await waitFor(() => childPids(stack.proxy.pid).find((p) => p !== victim && p !== survivor), {
      timeoutMs: 3000,
      intervalMs: 10,
      message: 'a replacement worker',
    });
    const replacedIn = Date.now() - killedAt;
    assert.ok(replacedIn <= 1000, `replacement forked ${replacedIn} ms after the kill`);
    await waitFor(() => listeningWorkers(stack.proxy.pid, stack.proxy.port).includes(replacement), { timeoutMs: 15_000, message: 'replacement listening' });
    const listeningAt = Date.now();
    await waitFor(() => load.outcomes.filter((o) => o.startedAt > listeningAt).length >= 100, { timeoutMs: 15_000, message: 'load after replacement' });
    const outcomes = await load.stop();

    const failed = failures(outcomes);
    t.diagnostic(`${outcomes.length} requests, ${failed.length} failed; replacement forked after ${replacedIn} ms`);
    const detail = JSON.stringify(failed.map((o) => ({ ...o, startedAt: o.startedAt - killedAt })));
    // Only requests the victim had already accepted (at most one per loop) may fail.
    assert.ok(failed.length <= concurrency, `at most a handful of failures: ${detail}`);
    assert.deepEqual(failed.filter((o) => o.startedAt > killedAt + 50), [], `no failure for requests sent after the kill: ${detail}`);
    assert.ok(!isAlive(victim!));
    assert.ok(isAlive(survivor!), 'the survivor was left alone');
  });

  test('SIGTERM lets an in-flight slow request finish with 200, then the master exits 0', async (t) => {
    const { stack, slow } = await twoWorkers(t);
    const workers = await workersListening(stack, 2);
    const pending = stack.get('slow.test', { timeoutMs: 10_000 }).then((res) => ({ res, at: Date.now() }));
    await waitFor(() => slow.requests.length === 1, { message: 'slow request at the backend' });
    stack.proxy.signal('SIGTERM');
    const { res, at } = await pending;
    assert.equal(res.status, 200, res.text);
    const code = await stack.proxy.exited;
    const exitedAt = Date.now();
    assert.equal(code, 0, stack.proxy.logs());
    assert.ok(exitedAt >= at, 'the master exits after the response');
    assert.deepEqual(workers.filter(isAlive), [], 'no worker outlives the master');
  });

  test('SIGTERM: a kept-alive connection whose request finishes during the drain is closed then, not after keepAliveTimeout', async (t) => {
    const { stack, slow } = await twoWorkers(t, { drainTimeout: 30 });
    await workersListening(stack, 2);
    const agent = new http.Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    // A POST goes through node:http on either front end; its connection stays open after the answer.
    const pending = stack.get('slow.test', { method: 'POST', body: 'x', agent, timeoutMs: 10_000 });
    await waitFor(() => slow.requests.length === 1, { message: 'slow request at the backend' });
    const signalled = Date.now();
    stack.proxy.signal('SIGTERM');
    assert.equal((await pending).status, 200);
    assert.equal(await stack.proxy.exited, 0, stack.proxy.logs());
    const took = Date.now() - signalled;
    assert.ok(took < 8000, `the drain took ${took} ms: the idle kept-alive connection held it (keepAliveTimeout 75 s, drainTimeout 30 s)`);
  });

  test('SIGHUP applies a changed config file without dropping an in-flight request', async (t) => {
    // The new generation serves beside the old one for reloadTimeout seconds, then alone.
    const { stack, slow } = await twoWorkers(t, { reloadTimeout: 5 });
    const before = await workersListening(stack, 2);
    const staticDir = path.join(stack.dir, 'pages');
    mkdirSync(staticDir);
    writeFileSync(path.join(staticDir, 'error_400.html'), '<h1>reloaded 400 page</h1>\n');
    assert.doesNotMatch((await stack.get('unknown.test')).text, /reloaded 400 page/);

    const pending = stack.get('slow.test', { timeoutMs: 10_000 });
    await waitFor(() => slow.requests.length === 1, { message: 'slow request at the backend' });
    const load = startLoad(() => stack.get('fast.test', { timeoutMs: 5000 }), { scope: t });
    rewriteConfig(stack, (c) => void (c.server.staticDir = staticDir));
    stack.proxy.signal('SIGHUP');
    await waitFor(async () => /reloaded 400 page/.test((await stack.get('unknown.test')).text), { timeoutMs: 15_000, message: 'new error page served' });

    const res = await pending;
    assert.equal(res.status, 200, `in-flight request across the reload: ${res.text}`);
    const after = await workersListening(stack, 2);
    assert.deepEqual(after.filter((p) => before.includes(p)), [], 'the old generation was replaced');
    const outcomes = await load.stop();
    const failed = failures(outcomes).map((o) => `${o.status || o.error}`);
    assert.deepEqual(failed, [], `no request failed during the reload (${outcomes.length} sent)`);
  });

  test('an invalid config file on SIGHUP is rejected with a log line; the old config keeps serving', async (t) => {
    const { stack } = await twoWorkers(t);
    const before = await workersListening(stack, 2);
    rewriteConfig(stack, (c) => void (c.server.workers = 'two'));
    stack.proxy.signal('SIGHUP');
    await waitFor(() => /reload rejected/.test(stack.proxy.logs()), { message: 'a "reload rejected" log line' });
    assert.match(stack.proxy.logs(), /\/server\/workers/, 'the log names the bad key');

    rewriteConfig(stack, () => '{ "server": { "workers": 2 ');
    stack.proxy.signal('SIGHUP');
    await waitFor(() => (stack.proxy.logs().match(/reload rejected/g) ?? []).length === 2, { message: 'a second rejection' });

    await expectAll200(stack, 20, 'after rejected reloads');
    assert.deepEqual(childPids(stack.proxy.pid), before, 'the workers were kept');
    assert.ok(!stack.proxy.hasExited());
  });

  test('a worker over server.workerMemoryLimit drains (finishing its request) and is replaced', async (t) => {
    // 1 MiB: every worker is over the limit at its first check, 0.5 s after it starts.
    const { stack, slow } = await twoWorkers(t, { workerMemoryLimit: 1, memoryCheckInterval: 0.5 });
    const seen = new Set(childPids(stack.proxy.pid));
    const sampler = setInterval(() => childPids(stack.proxy.pid).forEach((p) => seen.add(p)), 20);
    t.after(() => clearInterval(sampler));

    // Churning workers may refuse a connection or have no table yet (503): send until one reaches the backend.
    let res;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      const arrivedBefore = slow.requests.length;
      try {
        res = await stack.get('slow.test', { timeoutMs: 10_000 });
      } catch {
        continue;
      }
      if (slow.requests.length > arrivedBefore) break;
    }
    assert.ok(res, 'a slow request reached the backend');
    assert.equal(res.status, 200, `the in-flight request survived its worker's drain: ${res.text}`);
    assert.ok(seen.size >= 4, `workers replaced over time: ${[...seen].join(',')}`);
    assert.match(stack.proxy.logs(), /over memory limit/);
    assert.doesNotMatch(stack.proxy.logs(), /worker died/, 'drained workers exit cleanly, they do not crash');

    // SIGTERM in the middle of the churn (a worker may have been forked a moment ago): a prompt, clean exit.
    const code = await stack.proxy.stop('SIGTERM', 5000);
    assert.equal(code, 0, `master exit code; logs:\n${stack.proxy.logs().slice(-3000)}`);
  });

  test('"user": workers started as root run as that user and still serve', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
    const { stack } = await twoWorkers(t, {}, { user: 'nobody' });
    const workers = await workersListening(stack, 2);
    // A worker binds as root, then drops its privileges before it reports listening: wait for that moment.
    for (const pid of workers) await waitFor(() => uidsOf(pid).every((uid) => uid === nobody), { message: `worker ${pid} runs as nobody` });
    await expectAll200(stack, 20, 'as nobody');

    // A replacement worker drops its privileges too.
    process.kill(workers[0]!, 'SIGKILL');
    const replacement = await waitFor(() => listeningWorkers(stack.proxy.pid, stack.proxy.port).find((p) => !workers.includes(p)), {
      message: 'a listening replacement',
    });
    await waitFor(() => uidsOf(replacement).every((uid) => uid === nobody), { message: 'the replacement runs as nobody' });
    await expectAll200(stack, 20, 'after the replacement');
  });
});
