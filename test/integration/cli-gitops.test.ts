// The GitOps commands (SPEC §1, CLI): `validate` as a CI step, `export` and
// `import` between Redis and a vhosts file (an exact round trip), and `plan`
// and `explain` against a running proxy's admin API. The CLI runs as a child
// process (`node bin/switchyard.js ...`), on a real redis-server and a real proxy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { shown, switchyard } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { binPath, repoRoot, startSwitchyard, type Switchyard } from '../helpers/switchyard.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Every options hash of a Redis database, by key. */
async function optionHashes(url: string): Promise<Record<string, Record<string, string>>> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    const keys = (await client.sendCommand<string[]>(['KEYS', 'options:*'])).sort();
    const out: Record<string, Record<string, string>> = {};
    for (const key of keys) out[key] = { ...(await client.hGetAll(key)) };
    return out;
  } finally {
    client.destroy();
  }
}

function write(file: string, text: string): string {
  writeFileSync(file, text);
  return file;
}

/** Every frontend list of a Redis database, by key (a client of its own: the helper's stays on db 0). */
async function frontendLists(url: string): Promise<Record<string, string[]>> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    const keys = (await client.sendCommand<string[]>(['KEYS', 'frontend:*'])).sort();
    const out: Record<string, string[]> = {};
    for (const key of keys) out[key] = await client.sendCommand<string[]>(['LRANGE', key, '0', '-1']);
    return out;
  } finally {
    client.destroy();
  }
}

describe('switchyard validate', () => {
  test('a valid directory: "ok" with the host and file counts, exit 0', async (t) => {
    const dir = tempDir('validate-ok', t);
    write(join(dir, 'team-a.yaml'), 'vhosts:\n  www.a.test:\n    backends: [http://10.0.0.1:80]\n  "*.a.test":\n    backends: [http://10.0.0.2:80]\n');
    write(join(dir, 'team-b.json'), JSON.stringify({ vhosts: { 'www.b.test': { id: 'b', backends: [{ url: 'http://10.0.0.3:80', weight: 2 }] } } }));
    write(join(dir, 'README.md'), 'not read: not a vhosts extension');
    const result = await switchyard(['validate', dir]);
    assert.equal(result.status, 0, shown(result));
    assert.equal(result.stdout, 'ok: 3 hosts in 2 files\n');
  });

  test('an invalid entry is reported as file:line:column: /json/path: reason, and exits 1', async (t) => {
    const file = write(join(tempDir('validate-bad', t), 'vhosts.yaml'), [
      'vhosts:',
      '  good.test:',
      '    backends: [http://10.0.0.1:80]',
      '  bad.test:',
      '    backends:',
      '      - ftp://10.0.0.2:21',
      '      - url: http://10.0.0.3:80',
      '        weight: 0',
      '',
    ].join('\n'));
    const result = await switchyard(['validate', file]);
    assert.equal(result.status, 1, shown(result));
    // Quarantine-level problems (the proxy would still serve good.test) fail here: CI must fail.
    assert.match(result.stdout, new RegExp(`^${file}:6:9: /vhosts/bad.test/backends/0: must be an http:// or https:// URL$`, 'm'));
    assert.match(result.stdout, new RegExp(`^${file}:8:17: /vhosts/bad.test/backends/1/weight: must be >= 1$`, 'm'));
    assert.match(result.stdout, /^invalid: 2 problems in 1 file/m);
  });

  test('a syntax error and an empty file are problems too', async (t) => {
    const dir = tempDir('validate-syntax', t);
    const broken = write(join(dir, 'a.yaml'), 'vhosts:\n  a.test: [\n');
    const empty = write(join(dir, 'b.yaml'), '');
    const result = await switchyard(['validate', dir]);
    assert.equal(result.status, 1, shown(result));
    assert.match(result.stdout, new RegExp(`^${broken}:\\d+:\\d+: /: invalid YAML`, 'm'));
    assert.match(result.stdout, new RegExp(`^${empty}: /: the file is empty`, 'm'));
  });

  test('a host defined in two files is reported at its second definition, naming the first', async (t) => {
    const dir = tempDir('validate-dup', t);
    const first = write(join(dir, '10-team-a.yaml'), 'vhosts:\n  shared.test:\n    backends: [http://10.0.0.1:80]\n');
    const second = write(join(dir, '20-team-b.yaml'), 'vhosts:\n  other.test:\n    backends: [http://10.0.0.2:80]\n  Shared.test.:\n    backends: [http://10.0.0.3:80]\n');
    const result = await switchyard(['validate', dir]);
    assert.equal(result.status, 1, shown(result));
    assert.match(result.stdout, new RegExp(`^${second}:4:3: /vhosts/Shared.test.: host "Shared.test." is defined twice: here and at ${first}:2`, 'm'));
  });

  test('exit codes: --help 0; a missing path, no argument or an unknown option 2', async (t) => {
    const help = await switchyard(['validate', '--help']);
    assert.equal(help.status, 0, shown(help));
    assert.match(help.stdout, /^Usage: switchyard validate <file-or-dir>/);
    const missing = await switchyard(['validate', join(tempDir('validate-missing', t), 'nope.yaml')]);
    assert.equal(missing.status, 2, shown(missing));
    assert.match(missing.stderr, /cannot read .*nope\.yaml: no such file or directory/);
    const none = await switchyard(['validate']);
    assert.equal(none.status, 2, shown(none));
    assert.match(none.stderr, /missing <file-or-dir>/);
    const unknown = await switchyard(['validate', '--strict', 'x.yaml']);
    assert.equal(unknown.status, 2, shown(unknown));
    assert.match(unknown.stderr, /--strict/);
  });

  test('the example GitOps repository (examples/gitops) validates, through its CI script', async () => {
    const direct = await switchyard(['validate', 'examples/gitops/vhosts']);
    assert.equal(direct.status, 0, shown(direct));
    assert.match(direct.stdout, /^ok: \d+ hosts in 3 files\n$/);
    const script = spawnSync('sh', [join(repoRoot, 'examples/gitops/ci/check-vhosts.sh')], {
      encoding: 'utf8',
      env: { ...process.env, SWITCHYARD: `${process.execPath} ${binPath}`, SWITCHYARD_ADMIN_URL: '' },
      timeout: 20_000,
    });
    assert.equal(script.status, 0, `${script.stdout}${script.stderr}`);
  });

  test('the top-level --help lists every command', async () => {
    const result = await switchyard(['--help']);
    assert.equal(result.status, 0, shown(result));
    for (const name of ['validate', 'plan', 'explain', 'export', 'import']) assert.match(result.stdout, new RegExp(`^  ${name} `, 'm'));
  });
});

describe('switchyard export and import', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });

  test('export writes every frontend as vhosts YAML: schema header, ids, weights for consecutive repeats', async () => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:www.export.test', 'site', 'http://10.0.0.1:80', 'http://10.0.0.1:80', 'http://10.0.0.2:80');
    await redis.cmd('RPUSH', 'frontend:*.export.test', '*.export.test', 'http://10.0.0.3:80');
    const result = await switchyard(['export', '--redis', redis.url]);
    assert.equal(result.status, 0, shown(result));
    assert.match(result.stdout, /^# yaml-language-server: \$schema=\S+vhosts\.schema\.json\n/);
    assert.match(result.stdout, /  www\.export\.test:\n    id: site\n    backends:\n      - url: http:\/\/10\.0\.0\.1:80\n        weight: 2\n      - http:\/\/10\.0\.0\.2:80\n/);
    assert.match(result.stdout, /  "\*\.export\.test":\n    backends:\n      - http:\/\/10\.0\.0\.3:80\n/, 'an id equal to the host is left to its default');
    assert.match(result.stderr, /exported 2 frontends to stdout/);
  });

  test('export -o FILE honours the key prefix of the URL and writes a file validate accepts', async (t) => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'team:frontend:in.test', 'in', 'http://10.0.0.1:80');
    await redis.cmd('RPUSH', 'frontend:out.test', 'out', 'http://10.0.0.2:80');
    const file = join(tempDir('export', t), 'vhosts.yaml');
    const result = await switchyard(['export', '--redis', `${redis.url}#team:`, '-o', file]);
    assert.equal(result.status, 0, shown(result));
    assert.equal(result.stdout, '');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /in\.test/);
    assert.doesNotMatch(text, /out\.test/);
    const check = await switchyard(['validate', file]);
    assert.equal(check.status, 0, shown(check));
  });

  test('export names the keys it cannot write and exits 1, writing the others', async () => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:fine.test', 'fine', 'http://10.0.0.1:80');
    await redis.cmd('SET', 'frontend:string.test', 'not a list');
    await redis.cmd('RPUSH', 'frontend:bad-backend.test', 'x', 'not-a-url');
    const result = await switchyard(['export', '--redis', redis.url]);
    assert.equal(result.status, 1, shown(result));
    assert.match(result.stdout, /fine\.test/);
    assert.match(result.stderr, /skipped frontend:string\.test: a string, not a list/);
    assert.match(result.stderr, /skipped frontend:bad-backend\.test: \/vhosts\/bad-backend\.test\/backends\/0: must be an http/);
  });

  test('import is a dry run printing the diff; --apply writes; --prune adds removals', async (t) => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:same.test', 'same', 'http://10.0.0.1:80');
    await redis.cmd('RPUSH', 'frontend:moved.test', 'moved', 'http://10.0.0.1:80');
    await redis.cmd('RPUSH', 'frontend:stale.test', 'stale', 'http://10.0.0.9:80');
    const file = write(join(tempDir('import', t), 'vhosts.yaml'), [
      'vhosts:',
      '  same.test: { id: same, backends: [http://10.0.0.1:80] }',
      '  moved.test: { id: moved, backends: [http://10.0.0.1:80, { url: http://10.0.0.2:80, weight: 2 }] }',
      '  new.test: { backends: [http://10.0.0.3:80] }',
      '',
    ].join('\n'));
    const before = await frontendLists(redis.url);

    const dry = await switchyard(['import', file, '--redis', redis.url]);
    assert.equal(dry.status, 0, shown(dry));
    assert.match(dry.stdout, /^\+ new\.test\n/m);
    assert.match(dry.stdout, /^~ moved\.test\n      backends:\n          http:\/\/10\.0\.0\.1:80\n      \+   http:\/\/10\.0\.0\.2:80 \(weight 2\)\n/m);
    assert.match(dry.stdout, /^  same\.test \(unchanged\)$/m);
    assert.doesNotMatch(dry.stdout, /stale\.test/, 'without --prune, keys the file does not name are left alone');
    assert.match(dry.stdout, /Dry run: 1 to add, 1 to change, 0 to remove, 1 unchanged\. Nothing written/);
    assert.deepEqual(await frontendLists(redis.url), before, 'a dry run writes nothing');

    const pruneDry = await switchyard(['import', file, '--redis', redis.url, '--prune']);
    assert.equal(pruneDry.status, 0, shown(pruneDry));
    assert.match(pruneDry.stdout, /^- stale\.test\n/m);
    assert.match(pruneDry.stdout, /1 to add, 1 to change, 1 to remove, 1 unchanged/);

    const applied = await switchyard(['import', file, '--redis', redis.url, '--apply']);
    assert.equal(applied.status, 0, shown(applied));
    assert.match(applied.stdout, /Applied: 1 added, 1 changed, 0 removed, 1 unchanged\./);
    assert.deepEqual(await frontendLists(redis.url), {
      'frontend:moved.test': ['moved', 'http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.2:80'],
      'frontend:new.test': ['new.test', 'http://10.0.0.3:80'],
      'frontend:same.test': ['same', 'http://10.0.0.1:80'],
      'frontend:stale.test': ['stale', 'http://10.0.0.9:80'],
    });

    const pruned = await switchyard(['import', file, '--redis', redis.url, '--apply', '--prune']);
    assert.equal(pruned.status, 0, shown(pruned));
    assert.match(pruned.stdout, /Applied: 0 added, 0 changed, 1 removed, 3 unchanged\./);
    assert.equal(await redis.cmd('EXISTS', 'frontend:stale.test'), '0');
  });

  test('import refuses an invalid file, exit 1, and writes nothing', async (t) => {
    await redis.cmd('FLUSHALL');
    const file = write(join(tempDir('import-bad', t), 'vhosts.yaml'), 'vhosts:\n  ok.test:\n    backends: [http://10.0.0.1:80]\n  bad.test:\n    backends: [gopher://x]\n');
    const result = await switchyard(['import', file, '--redis', redis.url, '--apply']);
    assert.equal(result.status, 1, shown(result));
    assert.match(result.stderr, new RegExp(`${file}:5:16: /vhosts/bad.test/backends/0: must be an http`));
    assert.deepEqual(await frontendLists(redis.url), {});
  });

  test('round trip: Redis -> export -> import into an empty Redis gives identical lists', async (t) => {
    await redis.cmd('FLUSHALL');
    const lists: Array<[string, string[]]> = [
      ['frontend:www.rt.test', ['website', 'http://10.0.0.1:80', 'http://10.0.0.1:80', 'http://10.0.0.1:80', 'http://10.0.0.2:80']],
      ['frontend:spread.rt.test', ['spread', 'http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.1:80']],
      ['frontend:*.rt.test', ['wild', 'http://10.0.0.3:8080/prefix']],
      ['frontend:*', ['catch-all', 'https://10.0.0.4']],
      ['frontend:only-id.rt.test', ['only-id']],
      ['frontend:numeric.rt.test', ['12345', 'http://10.0.0.5:80']],
      ['frontend:yes.rt.test', ['yes', 'http://10.0.0.6:80']],
      ['frontend:default-id.rt.test', ['default-id.rt.test', 'http://[::1]:8080']],
      ['frontend:10.1.2.3', ['an-ip', 'http://10.0.0.7:80']],
      // Path frontends (SPEC §9): under their host's `paths`, a host with paths only, a wildcard's.
      ['frontend:www.rt.test/api', ['api', 'http://10.0.0.8:80']],
      ['frontend:paths-only.rt.test/a/b', ['paths-only.rt.test/a/b', 'http://10.0.0.8:80', 'http://10.0.0.8:80']],
      ['frontend:*.rt.test/static', ['static', 'http://10.0.0.9:80']],
    ];
    for (const [key, list] of lists) await redis.cmd('RPUSH', key, ...list);
    const file = join(tempDir('round-trip', t), 'vhosts.yaml');
    const exported = await switchyard(['export', '--redis', redis.url, '-o', file]);
    assert.equal(exported.status, 0, shown(exported));

    const target = `${redis.url}/5`;
    const imported = await switchyard(['import', file, '--redis', target, '--apply']);
    assert.equal(imported.status, 0, shown(imported));
    assert.match(imported.stdout, new RegExp(`Applied: ${lists.length} added, 0 changed`));
    assert.deepEqual(await frontendLists(target), await frontendLists(redis.url));
    assert.deepEqual(await frontendLists(target), Object.fromEntries(lists));

    const again = await switchyard(['import', file, '--redis', target, '--prune']);
    assert.equal(again.status, 0, shown(again));
    assert.match(again.stdout, new RegExp(`0 to add, 0 to change, 0 to remove, ${lists.length} unchanged`));
  });

  test('round trip with options:<key> hashes: export writes them into the entries, import writes them back, a second import changes nothing', async (t) => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:www.opt.test', 'site', 'http://10.0.0.1:80');
    await redis.cmd('HSET', 'options:www.opt.test', 'redirectHttps', 'true', 'hsts', '31536000', 'tcpTimeout', '2.5');
    await redis.cmd('RPUSH', 'frontend:www.opt.test/api', 'api', 'http://10.0.0.2:80');
    await redis.cmd('HSET', 'options:www.opt.test/api', 'stripPrefix', 'true', 'retryOnError', '0', 'redirectHttps', 'false');
    // A host with paths only: its options cover the paths.
    await redis.cmd('RPUSH', 'frontend:*.opt.test/static', 'static', 'http://10.0.0.3:80');
    await redis.cmd('HSET', 'options:*.opt.test', 'hsts', '60');
    // An id option: exported as the entry's id, imported as the list's identifier.
    await redis.cmd('RPUSH', 'frontend:named.opt.test', 'list-id', 'http://10.0.0.4:80');
    await redis.cmd('HSET', 'options:named.opt.test', 'id', '"shown-id"');
    const file = join(tempDir('round-trip-options', t), 'vhosts.yaml');
    const exported = await switchyard(['export', '--redis', redis.url, '-o', file]);
    assert.equal(exported.status, 0, shown(exported));
    const text = readFileSync(file, 'utf8');
    assert.match(text, /  www\.opt\.test:\n    id: site\n    redirectHttps: true\n    hsts: 31536000\n    tcpTimeout: 2\.5\n    backends:\n/);
    assert.match(text, /      \/api:\n        id: api\n        stripPrefix: true\n        retryOnError: 0\n        redirectHttps: false\n        backends:/);
    assert.match(text, /  "\*\.opt\.test":\n    hsts: 60\n    paths:\n      \/static:\n/);
    assert.match(text, /  named\.opt\.test:\n    id: shown-id\n/);

    const target = `${redis.url}/6`;
    const dry = await switchyard(['import', file, '--redis', target]);
    assert.equal(dry.status, 0, shown(dry));
    assert.match(dry.stdout, /^\+ options:www\.opt\.test\n      HSET options:www\.opt\.test redirectHttps true hsts 31536000 tcpTimeout 2\.5$/m);
    assert.match(dry.stdout, /^\+ options:\*\.opt\.test\n      HSET options:\*\.opt\.test hsts 60$/m);
    assert.match(dry.stdout, /Dry run: 4 to add, 0 to change, 0 to remove, 0 unchanged; options hashes: 3 to write/);
    const imported = await switchyard(['import', file, '--redis', target, '--apply']);
    assert.equal(imported.status, 0, shown(imported));
    const source = await optionHashes(redis.url);
    delete source['options:named.opt.test'];
    assert.deepEqual(await optionHashes(target), source, 'the same options hashes (the id aside)');
    const lists = await frontendLists(redis.url);
    lists['frontend:named.opt.test'] = ['shown-id', 'http://10.0.0.4:80'];
    assert.deepEqual(await frontendLists(target), lists);

    for (const url of [target, redis.url]) {
      const again = await switchyard(['import', file, '--redis', url, '--prune']);
      assert.equal(again.status, 0, shown(again));
      assert.match(again.stdout, /0 to add, 0 to change, 0 to remove, 4 unchanged; options hashes: 0 to write/, `${url}: no difference`);
    }
  });

  test('import of changed options: HSET after DEL, DEL of a hash the file no longer sets; export skips a bad hash', async (t) => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:a.opt.test', 'a', 'http://10.0.0.1:80');
    await redis.cmd('HSET', 'options:a.opt.test', 'hsts', '60');
    await redis.cmd('RPUSH', 'frontend:b.opt.test', 'b', 'http://10.0.0.1:80');
    await redis.cmd('HSET', 'options:b.opt.test', 'redirectHttps', 'true');
    const file = write(join(tempDir('import-options', t), 'vhosts.yaml'), [
      'vhosts:',
      '  a.opt.test: { id: a, hsts: 600, backends: [http://10.0.0.1:80] }',
      '  b.opt.test: { id: b, backends: [http://10.0.0.1:80] }',
      '',
    ].join('\n'));
    const applied = await switchyard(['import', file, '--redis', redis.url, '--apply']);
    assert.equal(applied.status, 0, shown(applied));
    assert.match(applied.stdout, /^~ a\.opt\.test\n      hsts: 60 -> 600\n/m);
    assert.match(applied.stdout, /^~ options:a\.opt\.test\n      DEL options:a\.opt\.test\n      HSET options:a\.opt\.test hsts 600$/m);
    assert.match(applied.stdout, /^- options:b\.opt\.test\n      DEL options:b\.opt\.test$/m);
    assert.deepEqual(await optionHashes(redis.url), { 'options:a.opt.test': { hsts: '600' } });

    await redis.cmd('HSET', 'options:a.opt.test', 'hsts', '"soon"');
    await redis.cmd('HSET', 'options:nowhere.opt.test', 'hsts', '1');
    const exported = await switchyard(['export', '--redis', redis.url]);
    assert.equal(exported.status, 1, shown(exported));
    assert.match(exported.stderr, /skipped options:a\.opt\.test: field hsts: must be integer/);
    assert.match(exported.stderr, /skipped options:nowhere\.opt\.test: no frontend uses these options/);
    assert.match(exported.stdout, /  a\.opt\.test:\n    id: a\n    backends:/, 'the frontend is exported without the refused options');
  });

  test('an unreachable Redis exits 2 with the address', async () => {
    const port = await freePort();
    const result = await switchyard(['export', '--redis', `redis://127.0.0.1:${port}`]);
    assert.equal(result.status, 2, shown(result));
    assert.match(result.stderr, new RegExp(`switchyard export: cannot connect to Redis at redis://127.0.0.1:${port}`));
  });

  test('--config reads the Redis of a proxy config; without either, a usage error', async (t) => {
    await redis.cmd('FLUSHALL');
    await redis.cmd('RPUSH', 'frontend:cfg.test', 'cfg', 'http://10.0.0.1:80');
    const config = write(join(tempDir('export-config', t), 'config.json'), JSON.stringify({ driver: [redis.url] }));
    const result = await switchyard(['export', '--config', config]);
    assert.equal(result.status, 0, shown(result));
    assert.match(result.stdout, /cfg\.test/);
    const none = await switchyard(['export'], { cwd: tempDir('export-nowhere', t) });
    assert.equal(none.status, 2, shown(none));
    assert.match(none.stderr, /give --redis URL or --config FILE/);
  });
});

describe('switchyard plan and explain against a running proxy', () => {
  let redis: RedisServer;
  let proxy: Switchyard;
  let vhostsDir: string;
  let admin: string;
  let alpha: Backend;
  let beta: Backend;
  const served = (a: string, b: string): Record<string, string> => ({
    'team-a.yaml': [
      'vhosts:',
      `  www.shop.test: { id: shop, backends: [${a}] }`,
      `  api.shop.test: { id: api, backends: [${a}, ${b}] }`,
      `  old.shop.test: { backends: [${a}] }`,
      `  shadowed.test: { id: from-file, backends: [${a}] }`,
      '',
    ].join('\n'),
    'team-b.yaml': `vhosts:\n  "*.wild.test": { id: wild, backends: [${b}] }\n`,
  });

  function writeTree(dir: string, files: Record<string, string>): string {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) write(join(dir, name), text);
    return dir;
  }

  before(async () => {
    redis = await startRedis();
    alpha = await startHttpBackend({ name: 'alpha' });
    beta = await startHttpBackend({ name: 'beta' });
    await redis.cmd('RPUSH', 'frontend:shadowed.test', 'from-redis', beta.url);
    await redis.cmd('RPUSH', 'frontend:dead.test', 'dead', alpha.url, beta.url);
    vhostsDir = writeTree(join(tempDir('plan'), 'vhosts'), served(alpha.url, beta.url));
    const adminPort = await freePort();
    admin = `http://127.0.0.1:${adminPort}`;
    proxy = await startSwitchyard({
      server: { workers: 1 },
      http: { bind: ['127.0.0.1'] },
      driver: [redis.url],
      file: { path: vhostsDir },
      admin: { port: adminPort },
    });
    // The admin API starts right after the proxy's listeners: wait for it too.
    await waitFor(async () => (await fetch(`${admin}/status`)).ok, { message: 'the admin API answering' });
  });

  test('plan of the tree being served: no change, exit 0 even with --exit-code', async () => {
    const result = await switchyard(['plan', vhostsDir, '--admin', admin, '--exit-code']);
    assert.equal(result.status, 0, shown(result));
    assert.match(result.stdout, /Plan: 0 to add, 0 to change, 0 to remove, 5 unchanged\./);
  });

  test('plan shows hosts added, removed and changed (backends, id, options), and a file host Redis shadows', async (t) => {
    const gamma = 'http://127.0.0.1:9';
    const next = writeTree(join(tempDir('plan-next', t), 'vhosts'), {
      'team-a.yaml': [
        'vhosts:',
        `  www.shop.test: { id: shop, backends: [${alpha.url}] }`,
        `  api.shop.test: { id: api-v2, tcpTimeout: 5, backends: [${alpha.url}, { url: ${gamma}, weight: 2 }] }`,
        `  new.shop.test: { backends: [${gamma}] }`,
        `  shadowed.test: { id: from-file, backends: [${alpha.url}] }`,
        '',
      ].join('\n'),
      'team-b.yaml': `vhosts:\n  "*.wild.test": { id: wild, backends: [${beta.url}] }\n`,
    });
    const result = await switchyard(['plan', next, '--admin', admin]);
    assert.equal(result.status, 0, shown(result));
    const out = result.stdout;
    assert.match(out, new RegExp(`^\\+ new\\.shop\\.test\\n      id: new\\.shop\\.test\\n      backends:\\n      \\+   ${gamma}\\n`, 'm'));
    assert.match(out, new RegExp(`^- old\\.shop\\.test\\n      id: old\\.shop\\.test\\n      backends:\\n      -   ${alpha.url}\\n`, 'm'));
    assert.match(
      out,
      new RegExp(`^~ api\\.shop\\.test\\n      id: api -> api-v2\\n      tcpTimeout: \\(default\\) -> 5\\n      backends:\\n          ${alpha.url}\\n      -   ${beta.url}\\n      \\+   ${gamma} \\(weight 2\\)\\n`, 'm'),
    );
    assert.doesNotMatch(out, /www\.shop\.test/, 'unchanged hosts are not listed');
    assert.match(out, /^! shadowed\.test: shadowed by Redis \(frontend:shadowed\.test, id from-redis\): precedence "redis", so the file's version is not served$/m);
    assert.match(out, /Plan: 1 to add, 1 to change, 1 to remove, 3 unchanged\./);

    const ci = await switchyard(['plan', next, '--admin', admin, '--exit-code']);
    assert.equal(ci.status, 1, shown(ci));
  });

  test('plan finds the admin API through --config, and refuses an invalid tree', async (t) => {
    const viaConfig = await switchyard(['plan', vhostsDir, '--config', proxy.configPath]);
    assert.equal(viaConfig.status, 0, shown(viaConfig));
    assert.match(viaConfig.stdout, /Plan: 0 to add/);
    const bad = write(join(tempDir('plan-bad', t), 'vhosts.yaml'), 'vhosts:\n  x.test: { backends: [nope] }\n');
    const refused = await switchyard(['plan', bad, '--admin', admin]);
    assert.equal(refused.status, 1, shown(refused));
    assert.match(refused.stderr, /vhosts\.yaml:2:24: \/vhosts\/x\.test\/backends\/0: must be an http/);
  });

  test('plan against an admin API that is not there exits 2', async () => {
    const result = await switchyard(['plan', vhostsDir, '--admin', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(result.status, 2, shown(result));
    assert.match(result.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  test('explain an exact host: rule, source, id and live backends', async () => {
    const result = await switchyard(['explain', 'WWW.Shop.test:8080', '--admin', admin]);
    assert.equal(result.status, 0, shown(result));
    assert.match(result.stdout, /^www\.shop\.test is served by the exact rule from the file source\n  id:        shop\n/);
    assert.match(result.stdout, new RegExp(`^    0  ${alpha.url}  live$`, 'm'));
  });

  test('explain a host matched by a wildcard, and one both sources define', async () => {
    const wild = await switchyard(['explain', 'a.b.wild.test', '--admin', admin]);
    assert.equal(wild.status, 0, shown(wild));
    assert.match(wild.stdout, /^a\.b\.wild\.test is served by the wildcard rule "\*\.wild\.test" from the file source\n  id:        wild\n/);
    assert.match(wild.stdout, /looked up: a\.b\.wild\.test, \*\.b\.wild\.test, \*\.wild\.test, \*\.test, \* \(the first defined wins\)/);
    const both = await switchyard(['explain', 'shadowed.test', '--admin', admin]);
    assert.equal(both.status, 0, shown(both));
    assert.match(both.stdout, /served by the exact rule from the redis source\n  id:        from-redis\n/);
    assert.match(both.stdout, /also defined by: file \(id from-file\) \(not served: lower precedence\)/);
  });

  test('explain shows a Redis frontend\'s options and the hashes they come from', async () => {
    await redis.cmd('RPUSH', 'frontend:opts.test', 'opts', alpha.url);
    await redis.cmd('HSET', 'options:opts.test', 'hsts', '600');
    await redis.cmd('RPUSH', 'frontend:opts.test/api', 'opts-api', alpha.url);
    await redis.cmd('HSET', 'options:opts.test/api', 'stripPrefix', 'true');
    const host = await switchyard(['explain', 'opts.test', '--admin', admin]);
    assert.equal(host.status, 0, shown(host));
    assert.match(host.stdout, /^  options: +from Redis, the hash options:opts\.test\n  hsts: +600$/m);
    const path = await switchyard(['explain', 'opts.test', '--path', '/api/x', '--admin', admin]);
    assert.equal(path.status, 0, shown(path));
    assert.match(path.stdout, /^  options: +from Redis, the hashes options:opts\.test\/api, then options:opts\.test \(the host level's\)$/m);
    assert.match(path.stdout, /^  hsts: +600$/m);
    assert.match(path.stdout, /^  stripPrefix: true$/m);
  });

  test('explain a backend marked dead for the host', async () => {
    await redis.cmd('SADD', 'dead:dead.test', '1');
    const result = await waitFor(
      async () => {
        const r = await switchyard(['explain', 'dead.test', '--admin', admin]);
        return /dead \(marked/.test(r.stdout) ? r : null;
      },
      { timeoutMs: 10_000, intervalMs: 200, message: 'explain shows the dead mark' },
    );
    assert.equal(result.status, 0, shown(result));
    assert.match(result.stdout, new RegExp(`^    0  ${alpha.url}  live$`, 'm'));
    assert.match(result.stdout, new RegExp(`^    1  ${beta.url}  dead \\(marked for this host`, 'm'));
  });

  test('explain an unknown host exits 1 (the proxy answers 400); once Redis defines "*", the catch-all serves it', async () => {
    const unknown = await switchyard(['explain', 'nowhere.example', '--admin', admin]);
    assert.equal(unknown.status, 1, shown(unknown));
    assert.match(unknown.stdout, /^nowhere\.example: unknown host: .* the proxy answers 400$/m);
    await redis.cmd('RPUSH', 'frontend:*', 'fallback', alpha.url);
    const caught = await waitFor(
      async () => {
        const r = await switchyard(['explain', 'nowhere.example', '--admin', admin]);
        return r.status === 0 ? r : null;
      },
      { timeoutMs: 10_000, intervalMs: 200, message: 'the catch-all applied' },
    );
    assert.match(caught.stdout, /^nowhere\.example is served by the catch-all rule "\*" from the redis source\n  id:        fallback\n/);
  });

  test('explain: not a host name exits 2', async () => {
    const result = await switchyard(['explain', 'bad host/x', '--admin', admin]);
    assert.equal(result.status, 2, shown(result));
    assert.match(result.stderr, /is not a host name/);
  });
});
