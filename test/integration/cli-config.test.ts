// SPEC §4: the command line and config.json as a drop-in for Hipache: both
// config generations, SETTINGS_FLAVOR, schema errors with their JSON path,
// and the `hipache` alias of the binary.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startHttpBackend } from '../helpers/backends.js';
import { json, request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startCli } from '../helpers/processes.js';
import { startRedis } from '../helpers/redis.js';
import { repoRoot } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

function writeJson(file: string, value: unknown): string {
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/** A config needing nothing else (no Redis): an HTTP listener on `port`. */
function listenOnly(port: number): Record<string, unknown> {
  return { server: { workers: 1 }, http: { port, bind: ['127.0.0.1'] } };
}

async function refused(port: number): Promise<boolean> {
  try {
    await request({ port, host: '__ping__', timeoutMs: 1000 });
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

describe('command line', () => {
  test('--help prints the usage and exits 0', () => {
    const result = runCli(['--help']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Usage: switchyard/);
    assert.match(result.stdout, /--config/);
  });

  test('--version prints the package version and exits 0', () => {
    const result = runCli(['--version']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), `switchyard ${pkg.version}`);
  });

  test('an unknown argument is an error, not ignored', () => {
    const result = runCli(['--confg', 'x.json']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /--confg/);
  });

  test('the hipache bin alias points to the same executable, which runs through a symlink', (t) => {
    assert.equal(pkg.bin['hipache'], pkg.bin['switchyard']);
    const bin = path.join(repoRoot, pkg.bin['hipache']!);
    assert.ok(statSync(bin).mode & 0o111, 'executable');
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    // What npm installs: a `hipache` symlink on the PATH.
    const dir = tempDir('bin', t);
    const link = path.join(dir, 'hipache');
    symlinkSync(bin, link);
    assert.equal(realpathSync(link), realpathSync(bin));
    const result = spawnSync(link, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), `switchyard ${pkg.version}`);
  });
});

describe('config file', () => {
  test('an invalid config exits non-zero naming the JSON path of each problem', async (t) => {
    const dir = tempDir('bad-config', t);
    const port = await freePort();
    const file = writeJson(path.join(dir, 'config.json'), {
      server: { wrokers: 2, workers: 'two' },
      http: { port, bind: ['127.0.0.1'] },
    });
    const result = runCli(['--config', file]);
    assert.notEqual(result.status, 0);
    assert.notEqual(result.status, null, 'exited on its own, not killed by the timeout');
    assert.match(result.stderr, /\/server\/wrokers/);
    assert.match(result.stderr, /\/server\/workers/);
    assert.ok(result.stderr.includes(file), 'the file is named');
    assert.ok(await refused(port), 'nothing was started');
  });

  test('invalid JSON is reported with its line and column', (t) => {
    const dir = tempDir('bad-json', t);
    const file = path.join(dir, 'config.json');
    writeFileSync(file, '{\n  "server": {\n    "workers": 2,\n  }\n}\n');
    const result = runCli(['--config', file]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /line 4/);
  });

  test('the pre-0.4 style (server.port, server.address, redisHost, redisPort, redisDatabase) works end to end', async (t) => {
    const redis = await startRedis(); // stopped at the end of the file, after the proxy
    const backend = await startHttpBackend({ name: 'old-style', scope: t });
    // redisDatabase 2: the route exists only there.
    await redis.cmd('SELECT', 2);
    await redis.cmd('RPUSH', 'frontend:old.test', 'old-site', backend.url);
    const dir = tempDir('pre04', t);
    const port = await freePort();
    const file = writeJson(path.join(dir, 'config.json'), {
      server: { accessLog: path.join(dir, 'access.log'), port, address: ['127.0.0.1'], workers: 1, maxSockets: 100, deadBackendTTL: 30 },
      redisHost: '127.0.0.1',
      redisPort: redis.port,
      redisDatabase: 2,
    });
    await startCli({ args: ['--config', file], port, scope: t });
    const res = await request({ port, host: 'old.test' });
    assert.equal(res.status, 200, res.text);
    assert.equal(json<{ name: string }>(res).name, 'old-style');
    // Changes are followed in that database too.
    await redis.cmd('RPUSH', 'frontend:new.test', 'new-site', backend.url);
    assert.equal((await request({ port, host: 'new.test' })).status, 200);
  });

  test('SETTINGS_FLAVOR=test with --config <dir>/config.json picks <dir>/config_test.json', async (t) => {
    const dir = tempDir('flavor', t);
    const [plain, flavored] = [await freePort(), await freePort()];
    const file = writeJson(path.join(dir, 'config.json'), listenOnly(plain));
    writeJson(path.join(dir, 'config_test.json'), listenOnly(flavored));
    await startCli({ args: ['--config', file], env: { SETTINGS_FLAVOR: 'test' }, port: flavored, scope: t });
    assert.ok(await refused(plain), 'config.json was not used');
  });

  test('SETTINGS_FLAVOR=test falls back to config.json when config_test.json is absent', async (t) => {
    const dir = tempDir('flavor-absent', t);
    const port = await freePort();
    const file = writeJson(path.join(dir, 'config.json'), listenOnly(port));
    await startCli({ args: ['--config', file], env: { SETTINGS_FLAVOR: 'test' }, port, scope: t });
  });

  test('without --config, SETTINGS_FLAVOR=test reads config/config_test.json in the working directory', async (t) => {
    const dir = tempDir('flavor-cwd', t);
    mkdirSync(path.join(dir, 'config'));
    const port = await freePort();
    writeJson(path.join(dir, 'config', 'config_test.json'), listenOnly(port));
    await startCli({ args: [], cwd: dir, env: { SETTINGS_FLAVOR: 'test' }, port, scope: t });
  });
});
