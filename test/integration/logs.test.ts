// SPEC §8 and the README's Operations section: the access log on standard
// output ("-"), reopened on SIGUSR1 after logrotate moved it (the master
// passes the signal on to every worker), a full disk costing log lines but
// never a request, and the process log as one JSON object a line.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, renameSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startHttpBackend } from '../helpers/backends.js';
import { hipacheConfig } from '../helpers/config.js';
import { request } from '../helpers/http.js';
import { readLog } from '../helpers/identity.js';
import { listeningWorkers } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { delay, waitFor } from '../helpers/wait.js';

/** A proxy on a fresh redis-server with log.test routed to a backend; `server` merged into the test defaults. */
async function loggingProxy(server: Record<string, unknown>): Promise<{ proxy: Switchyard; redis: RedisServer; accessLog: string; dir: string }> {
  const redis = await startRedis();
  const dir = tempDir('logs');
  const proxy = await startSwitchyard(hipacheConfig({ redisUrl: redis.url, dir, server }));
  const backend = await startHttpBackend({ name: 'logged', body: 'ok' });
  await redis.cmd('RPUSH', 'frontend:log.test', 'log-site', backend.url);
  return { proxy, redis, accessLog: path.join(dir, 'access.log'), dir };
}

/** What the open descriptors of process `pid` point to. */
function openFiles(pid: number): string[] {
  const fds = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(fds)) {
    try {
      out.push(readlinkSync(path.join(fds, fd)));
    } catch {
      // closed while we looked
    }
  }
  return out;
}

describe('operating the logs', () => {
  test('accessLog "-": the lines go to standard output, no file is written', async () => {
    const { proxy, dir } = await loggingProxy({ accessLog: '-', accessLogFormat: 'json' });
    let stdout = '';
    proxy.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const res = await request({ port: proxy.port, host: 'log.test', path: '/to-stdout' });
    assert.equal(res.status, 200);
    const id = res.headers['x-request-id'];
    const line = await waitFor(() => stdout.split('\n').find((l) => l.includes('/to-stdout')), { message: 'the line on stdout' });
    assert.deepEqual([JSON.parse(line).request_id, JSON.parse(line).status], [id, 200]);
    assert.ok(!existsSync(path.join(dir, '-')) && !existsSync(path.join(path.dirname(proxy.configPath), '-')), 'no file named "-"');
  });

  test('accessLog "-": a line never exceeds what a pipe takes whole (PIPE_BUF), so two workers\' lines cannot interleave; a huge field is cut', async () => {
    const { proxy } = await loggingProxy({ accessLog: '-', accessLogFormat: 'json' });
    let stdout = '';
    proxy.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const userAgent = 'u'.repeat(8000);
    const res = await request({ port: proxy.port, host: 'log.test', path: `/long?${'q'.repeat(4000)}`, headers: { 'user-agent': userAgent, referer: 'r'.repeat(2000) } });
    assert.equal(res.status, 200);
    const line = await waitFor(() => stdout.split('\n').find((l) => l.includes('/long')), { message: 'the line on stdout' });
    assert.ok(Buffer.byteLength(line) + 1 <= 4096, `${Buffer.byteLength(line) + 1} bytes`);
    const entry = JSON.parse(line);
    assert.equal(entry.request_id, res.headers['x-request-id']);
    assert.match(entry.user_agent, /^u+\.\.\.$/);
    assert.match(entry.path, /^\/long\?q+\.\.\.$/);
  });

  test('SIGUSR1 to the master: every worker reopens its access log, new lines go to a new file at the configured path', async () => {
    const { proxy, accessLog } = await loggingProxy({ workers: 2 });
    const workers = await waitFor(() => {
      const pids = listeningWorkers(proxy.pid, proxy.port);
      return pids.length === 2 ? pids : null;
    }, { timeoutMs: 10_000, message: 'two workers listening' });
    await request({ port: proxy.port, host: 'log.test', path: '/before-rotation' });
    await waitFor(() => readLog(accessLog).includes('/before-rotation'), { message: 'the first line' });
    await waitFor(() => workers.every((pid) => openFiles(pid).includes(accessLog)), { message: 'both workers holding the log open' });
    const rotated = `${accessLog}.1`;
    renameSync(accessLog, rotated); // what logrotate does, before its postrotate `kill -USR1`
    proxy.signal('SIGUSR1');
    // Each worker holds the new file, none the old one any longer.
    await waitFor(() => workers.every((pid) => openFiles(pid).includes(accessLog) && !openFiles(pid).includes(rotated)), {
      message: `every worker reopened (${workers.map((pid) => `${pid}: ${openFiles(pid).filter((f) => f.includes('access')).join(', ')}`).join('; ')})`,
    });
    for (let i = 0; i < 10; i++) assert.equal((await request({ port: proxy.port, host: 'log.test', path: `/after-rotation-${i}` })).status, 200);
    await waitFor(() => readLog(accessLog).split('\n').filter((l) => l.includes('/after-rotation-')).length === 10, { message: 'the new lines in the new file' });
    assert.ok(readLog(rotated).includes('/before-rotation') && !readLog(rotated).includes('/after-rotation'), 'the rotated file keeps the old lines only');
    assert.equal(proxy.hasExited(), false);
    assert.deepEqual(listeningWorkers(proxy.pid, proxy.port), workers, 'the same workers serve on');
    assert.doesNotMatch(proxy.logs(), /Debugger listening/, "SIGUSR1 never starts Node's inspector");
  });

  test('a full disk loses log lines, never a request, and is reported once per interval, not per line', async () => {
    const { proxy } = await loggingProxy({ accessLog: '/dev/full' }); // every write: ENOSPC
    // Spread over many flushes (one per 100 ms): each fails.
    for (let i = 0; i < 25; i++) {
      assert.equal((await request({ port: proxy.port, host: 'log.test', path: `/full-${i}` })).status, 200);
      await delay(100);
    }
    await waitFor(() => /cannot write access log/.test(proxy.logs()), { message: 'the write error reported' });
    await delay(300);
    const reports = proxy.logs().split('\n').filter((l) => l.includes('cannot write access log'));
    assert.equal(reports.length, 1, reports.join('\n'));
    assert.match(reports[0]!, /ENOSPC/);
  });

  test('logFormat "json": every line of the master and the workers is a JSON object with time, level, process, component and msg', async () => {
    const { proxy } = await loggingProxy({ logFormat: 'json', workers: 2 });
    await request({ port: proxy.port, host: 'log.test' });
    await waitFor(() => proxy.logs().split('\n').filter((l) => l.includes('"listening"')).length === 2, { message: 'both workers listening' });
    const lines = proxy.logs().split('\n').filter((l) => l !== '');
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not JSON: ${line}`);
      }
    });
    for (const entry of parsed) {
      assert.deepEqual(Object.keys(entry).slice(0, 3), ['time', 'level', 'process'], JSON.stringify(entry));
      assert.equal(typeof entry.component, 'string');
      assert.equal(typeof entry.msg, 'string');
      assert.ok(entry.time === new Date(Date.parse(String(entry.time))).toISOString());
    }
    const master = parsed.find((e) => e.process === 'master' && e.msg === 'started');
    assert.deepEqual([master?.level, master?.component, master?.workers, master?.worker], ['info', 'master', 2, undefined]);
    const workers = parsed.filter((e) => e.process === 'worker' && e.msg === 'listening');
    assert.deepEqual(workers.map((e) => typeof e.worker).sort(), ['string', 'string']);
    assert.notEqual(workers[0]!.worker, workers[1]!.worker);
  });
});
