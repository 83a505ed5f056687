// The file ConfigSource on real files in temp directories: every way a file
// gets changed in practice (in place, by rename, delete and re-create,
// Kubernetes ConfigMap and git-sync symlink swaps, several files at once),
// validation with last-known-good, and what is emitted (a snapshot, then
// only the hosts that changed). The periodic re-check is set to a minute
// except where it is the subject, so these tests prove the watch itself.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { FileSource, type FileSourceOptions } from '../../adapters/file/source.js';
import type { ConfigEvent } from '../../src/vocabulary/events.js';
import { RoutingTable } from '../../src/routing/table.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** A backend URL used as a label: nothing is ever sent to it. */
const b = (n: number): string => `http://127.0.0.1:${10_000 + n}`;

/** A vhosts YAML text: host -> backends. */
function yaml(hosts: Record<string, string[]>): string {
  const entries = Object.entries(hosts).map(([host, backends]) => `  "${host}":\n    backends: [${backends.join(', ')}]\n`);
  return entries.length === 0 ? 'vhosts: {}\n' : `vhosts:\n${entries.join('')}`;
}

interface Watched {
  source: FileSource;
  events: ConfigEvent[];
  table: RoutingTable;
  /** The first snapshot was emitted. */
  started: Promise<void>;
  backends(host: string): readonly string[] | undefined;
  /** Events emitted after the first `n`. */
  since(n: number): ConfigEvent[];
  /** Waits until `host` is served by exactly `backends`. */
  serves(host: string, backends: string[]): Promise<void>;
  /** Waits for one more read after now (a change, a re-check or a no-op) to have been handled. */
  nextCheck(): Promise<void>;
}

function watchPath(t: TestContext, path: string, options: Partial<FileSourceOptions> = {}): Watched {
  const source = new FileSource({ path, pollIntervalMs: 60_000, ...options });
  const events: ConfigEvent[] = [];
  const table = new RoutingTable();
  const started = source.start((event) => {
    events.push(event);
    table.apply(event);
  });
  t.after(() => source.stop());
  const backends = (host: string) => table.frontend('file', host)?.backends;
  return {
    source,
    events,
    table,
    started,
    backends,
    since: (n) => events.slice(n),
    serves: async (host, want) => {
      await waitFor(() => JSON.stringify(backends(host)) === JSON.stringify(want), { message: `${host} served by ${want.join(',')}` });
    },
    nextCheck: async () => {
      const before = source.status().checks;
      await waitFor(() => source.status().checks > before, { message: 'one more read' });
    },
  };
}

const sets = (events: ConfigEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'frontend-set' ? [`${e.frontend.key}=${e.frontend.backends.join(',')}`] : [])).sort();
const ofType = (events: ConfigEvent[], type: ConfigEvent['type']) => events.filter((e) => e.type === type);

/** A Kubernetes ConfigMap volume: files live in ..<stamp>/, `..data` links to it, each name links into ..data. */
function configMap(dir: string, stamp: string, files: Record<string, string>, previous?: string): void {
  mkdirSync(join(dir, `..${stamp}`));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `..${stamp}`, name), text);
  symlinkSync(`..${stamp}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data')); // the atomic swap
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked by a previous version
    }
  }
  if (previous !== undefined) rmSync(join(dir, `..${previous}`), { recursive: true });
}

describe('file source: watching', () => {
  test('the first version is one snapshot; an in-place write emits only the hosts that changed', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    writeFileSync(file, yaml({ 'a.test': [b(1)], 'b.test': [b(2)], '*.c.test': [b(3)] }));
    const w = watchPath(t, file);
    await w.started;
    assert.deepEqual(w.events.map((e) => e.type), ['snapshot']);
    assert.equal(w.table.lookup('x.y.c.test')?.backends[0], b(3));
    assert.equal(w.source.status().state, 'ready');

    writeFileSync(file, yaml({ 'a.test': [b(1)], 'b.test': [b(22)], 'new.test': [b(4)] }));
    await w.serves('new.test', [b(4)]);
    await w.serves('b.test', [b(22)]);
    const after = w.since(1);
    assert.deepEqual(sets(after), [`b.test=${b(22)}`, `new.test=${b(4)}`], 'a.test is untouched');
    assert.deepEqual(
      ofType(after, 'frontend-removed').map(({ type, source, key }) => ({ type, source, key })),
      [{ type: 'frontend-removed', source: 'file', key: '*.c.test' }],
    );
  });

  test('a save by rename (write a temp file, rename it over) is picked up', async (t) => {
    const dir = tempDir('file', t);
    const file = join(dir, 'vhosts.yaml');
    writeFileSync(file, yaml({ 'a.test': [b(1)] }));
    const w = watchPath(t, file);
    await w.started;
    writeFileSync(join(dir, '.vhosts.yaml.swp'), yaml({ 'a.test': [b(2)] }));
    renameSync(join(dir, '.vhosts.yaml.swp'), file);
    await w.serves('a.test', [b(2)]);
    // And again: the watch survived the replacement of the file it reads.
    writeFileSync(join(dir, 'vhosts.yaml~'), yaml({ 'a.test': [b(3)] }));
    renameSync(join(dir, 'vhosts.yaml~'), file);
    await w.serves('a.test', [b(3)]);
  });

  test('delete then re-create: the hosts stay while the file is missing, then the new version applies', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    writeFileSync(file, yaml({ 'a.test': [b(1)] }));
    const w = watchPath(t, file);
    await w.started;
    unlinkSync(file);
    await waitFor(() => w.source.status().lastError?.code === 'FILE_MISSING', { message: 'missing file reported' });
    assert.deepEqual(w.backends('a.test'), [b(1)], 'still served');
    assert.equal(w.source.status().state, 'degraded');
    writeFileSync(file, yaml({ 'a.test': [b(2)] }));
    await w.serves('a.test', [b(2)]);
    await waitFor(() => w.source.status().state === 'ready');
    assert.equal(ofType(w.events, 'source-recovered').length, 1);
  });

  test('a Kubernetes ConfigMap swap of ..data, watching the directory, applies both files as one version', async (t) => {
    const dir = join(tempDir('file', t), 'config');
    mkdirSync(dir);
    configMap(dir, '2026_11_24_a', {
      'vhosts.yaml': yaml({ 'a.test': [b(1)], 'moved.test': [b(1)] }),
      'extra.yaml': yaml({ 'e.test': [b(1)] }),
    });
    const w = watchPath(t, dir);
    await w.started;
    assert.equal(w.table.stats().frontends, 3);
    configMap(
      dir,
      '2026_11_24_b',
      { 'vhosts.yaml': yaml({ 'a.test': [b(2)] }), 'extra.yaml': yaml({ 'e.test': [b(1)], 'moved.test': [b(2)] }) },
      '2026_11_24_a',
    );
    await w.serves('moved.test', [b(2)]);
    await w.serves('a.test', [b(2)]);
    const after = w.since(1);
    assert.deepEqual(sets(after), [`a.test=${b(2)}`, `moved.test=${b(2)}`]);
    assert.deepEqual(ofType(after, 'frontend-removed'), [], 'a host moving between files is never dropped');
    assert.deepEqual(ofType(after, 'source-error'), []);
  });

  test('a Kubernetes ConfigMap swap, the path being one file (a symlink into ..data)', async (t) => {
    const dir = tempDir('file', t);
    configMap(dir, '2026_11_24_a', { 'vhosts.yaml': yaml({ 'a.test': [b(1)] }) });
    const w = watchPath(t, join(dir, 'vhosts.yaml'));
    await w.started;
    configMap(dir, '2026_11_24_b', { 'vhosts.yaml': yaml({ 'a.test': [b(2)] }) }, '2026_11_24_a');
    await w.serves('a.test', [b(2)]);
    configMap(dir, '2026_11_24_c', { 'vhosts.yaml': yaml({ 'a.test': [b(3)] }) }, '2026_11_24_b');
    await w.serves('a.test', [b(3)]);
  });

  test('a symlinked directory swapped for another (git-sync), then edited in its new place', async (t) => {
    const root = tempDir('file', t);
    for (const rev of ['rev1', 'rev2']) mkdirSync(join(root, rev));
    writeFileSync(join(root, 'rev1', 'vhosts.yaml'), yaml({ 'a.test': [b(1)] }));
    symlinkSync('rev1', join(root, 'current'));
    const w = watchPath(t, join(root, 'current'));
    await w.started;
    writeFileSync(join(root, 'rev2', 'vhosts.yaml'), yaml({ 'a.test': [b(2)] }));
    symlinkSync('rev2', join(root, 'current.tmp'));
    renameSync(join(root, 'current.tmp'), join(root, 'current'));
    await w.serves('a.test', [b(2)]);
    // The directory watch follows the link to its new target.
    writeFileSync(join(root, 'rev2', 'vhosts.yaml'), yaml({ 'a.test': [b(3)] }));
    await w.serves('a.test', [b(3)]);
  });

  test('several files of a directory changed together apply as one version', async (t) => {
    const dir = tempDir('file', t);
    writeFileSync(join(dir, 'a.yaml'), yaml({ 'a.test': [b(1)], 'moved.test': [b(1)] }));
    writeFileSync(join(dir, 'b.yml'), yaml({ 'b.test': [b(1)] }));
    const w = watchPath(t, dir);
    await w.started;
    // Removing first is the order that would drop moved.test if a read fell between the two writes.
    writeFileSync(join(dir, 'a.yaml'), yaml({ 'a.test': [b(2)] }));
    writeFileSync(join(dir, 'b.yml'), yaml({ 'b.test': [b(2)], 'moved.test': [b(2)] }));
    await w.serves('moved.test', [b(2)]);
    await w.serves('b.test', [b(2)]);
    const after = w.since(1);
    assert.deepEqual(sets(after), [`a.test=${b(2)}`, `b.test=${b(2)}`, `moved.test=${b(2)}`]);
    assert.deepEqual(ofType(after, 'frontend-removed'), []);
  });

  test('a directory: *.yaml, *.yml and *.json files directly in it; dotfiles, other names and subdirectories ignored', async (t) => {
    const dir = tempDir('file', t);
    writeFileSync(join(dir, 'a.yaml'), yaml({ 'a.test': [b(1)] }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ vhosts: { 'b.test': { backends: [b(2)] } } }));
    writeFileSync(join(dir, '.hidden.yaml'), yaml({ 'hidden.test': [b(3)] }));
    writeFileSync(join(dir, 'notes.txt'), 'not: [valid');
    mkdirSync(join(dir, 'sub.yaml'));
    writeFileSync(join(dir, 'sub.yaml', 'c.yaml'), yaml({ 'c.test': [b(4)] }));
    const w = watchPath(t, dir);
    await w.started;
    assert.deepEqual(w.events[0]?.type === 'snapshot' && w.events[0].frontends.map((f) => f.key), ['a.test', 'b.test']);
    writeFileSync(join(dir, 'c.yml'), yaml({ 'c.test': [b(5)] }));
    await w.serves('c.test', [b(5)]);
    unlinkSync(join(dir, 'b.json'));
    await waitFor(() => w.backends('b.test') === undefined, { message: 'b.test removed with its file' });
  });

  test('the periodic re-check catches a change no directory watch can see', async (t) => {
    // The configured file is a symlink into another directory, edited in place there: the watched directory sees nothing.
    const root = tempDir('file', t);
    mkdirSync(join(root, 'real'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'real', 'vhosts.yaml'), yaml({ 'a.test': [b(1)] }));
    symlinkSync(join(root, 'real', 'vhosts.yaml'), join(root, 'etc', 'vhosts.yaml'));
    const w = watchPath(t, join(root, 'etc', 'vhosts.yaml'), { pollIntervalMs: 100 });
    await w.started;
    writeFileSync(join(root, 'real', 'vhosts.yaml'), yaml({ 'a.test': [b(2)] }));
    await w.serves('a.test', [b(2)]);
  });
});

describe('file source: validation and last known good', () => {
  test('an invalid edit changes nothing and is reported with file, line, column and JSON path; the fix applies', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    writeFileSync(file, yaml({ 'a.test': [b(1)] }));
    const w = watchPath(t, file);
    await w.started;

    writeFileSync(file, 'vhosts:\n  a.test:\n    backends: [http://127.0.0.1:2\n');
    await waitFor(() => ofType(w.events, 'source-error').length === 1, { message: 'syntax error reported' });
    assert.match(w.source.status().lastError?.message ?? '', new RegExp(`^${file}:\\d+:\\d+: /: invalid YAML: `));
    assert.equal(w.source.status().lastError?.code, 'FILE_PARSE');

    writeFileSync(file, 'vhosts:\n  a.test:\n    backends: [http://127.0.0.1:2]\n    weight: 2\n');
    await waitFor(() => ofType(w.events, 'source-error').length === 2, { message: 'schema error reported' });
    assert.equal(w.source.status().quarantined?.[0]?.reason, `${file}:4:5: /vhosts/a.test/weight: unknown key`);

    writeFileSync(file, 'vhostz:\n  a.test:\n    backends: [http://127.0.0.1:2]\n');
    await waitFor(() => ofType(w.events, 'source-error').length === 3, { message: 'document error reported' });
    assert.match(w.source.status().lastError?.message ?? '', /vhosts\.yaml:1:1: \/vhostz: unknown key \(did you mean "vhosts"\?\)/);

    assert.deepEqual(w.backends('a.test'), [b(1)], 'the last valid version stays in force');
    assert.deepEqual(ofType(w.events, 'frontend-set'), []);
    assert.equal(w.source.status().state, 'degraded');

    writeFileSync(file, yaml({ 'a.test': [b(2)] }));
    await w.serves('a.test', [b(2)]);
    await waitFor(() => w.source.status().state === 'ready');
    assert.equal(w.source.status().lastError, null);
    assert.deepEqual(w.source.status().quarantined, []);
    assert.equal(w.events.at(-1)?.type, 'source-recovered');
  });

  test('one bad host is quarantined with its previous version while the other hosts apply', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    writeFileSync(file, yaml({ 'good.test': [b(1)], 'bad.test': [b(1)] }));
    const w = watchPath(t, file);
    await w.started;
    writeFileSync(file, `${yaml({ 'good.test': [b(2)], 'new-bad.test': ['ftp://x'] })}  bad.test:\n    backends:\n      - url: ${b(2)}\n        weight: 0\n`);
    await w.serves('good.test', [b(2)]);
    assert.deepEqual(w.backends('bad.test'), [b(1)], 'bad.test keeps its previous version');
    assert.equal(w.backends('new-bad.test'), undefined, 'a host never valid is not served');
    const status = w.source.status();
    assert.equal(status.state, 'degraded');
    assert.deepEqual(
      status.quarantined?.map((q) => [q.key, q.serving, q.reason]),
      [
        ['new-bad.test', 'none', `${file}:5:16: /vhosts/new-bad.test/backends/0: must be an http:// or https:// URL`],
        ['bad.test', 'previous', `${file}:9:17: /vhosts/bad.test/backends/0/weight: must be >= 1`],
      ],
    );
    assert.equal(status.lastError?.code, 'FILE_QUARANTINE');
    assert.deepEqual(sets(w.since(1)), [`good.test=${b(2)}`], 'only the valid change was emitted');

    writeFileSync(file, yaml({ 'good.test': [b(2)], 'bad.test': [b(3)] }));
    await w.serves('bad.test', [b(3)]);
    assert.deepEqual(w.source.status().quarantined, []);
    assert.equal(w.source.status().state, 'ready');
  });

  test('a host defined in two files is an error naming both; the host keeps its previous version', async (t) => {
    const dir = tempDir('file', t);
    writeFileSync(join(dir, 'a.yaml'), yaml({ 'shared.test': [b(1)] }));
    writeFileSync(join(dir, 'b.yaml'), yaml({ 'b.test': [b(1)] }));
    const w = watchPath(t, dir);
    await w.started;
    writeFileSync(join(dir, 'b.yaml'), yaml({ 'b.test': [b(2)], 'shared.test': [b(2)] }));
    await w.serves('b.test', [b(2)]);
    assert.deepEqual(w.backends('shared.test'), [b(1)]);
    const [entry] = w.source.status().quarantined ?? [];
    assert.equal(entry?.key, 'shared.test');
    assert.equal(entry?.reason, `${join(dir, 'b.yaml')}:4:3: /vhosts/shared.test: host "shared.test" is defined twice: here and at ${join(dir, 'a.yaml')}:2 (the host keeps its previous version)`);
  });

  test('an empty file is taken as being written: the last version stays', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    writeFileSync(file, yaml({ 'a.test': [b(1)] }));
    const w = watchPath(t, file);
    await w.started;
    const check = w.nextCheck();
    writeFileSync(file, '');
    await check;
    assert.deepEqual(w.since(1), []);
    assert.deepEqual(w.backends('a.test'), [b(1)]);
    assert.equal(w.source.status().state, 'ready');
    writeFileSync(file, yaml({ 'a.test': [b(2)] }));
    await w.serves('a.test', [b(2)]);
  });

  test('`vhosts: {}` removes every host', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    writeFileSync(file, yaml({ 'a.test': [b(1)], '*': [b(2)] }));
    const w = watchPath(t, file);
    await w.started;
    writeFileSync(file, 'vhosts: {}\n');
    await waitFor(() => w.table.stats().frontends === 0, { message: 'every host removed' });
    assert.deepEqual(w.since(1).map((e) => e.type === 'frontend-removed' && e.key).sort(), ['*', 'a.test']);
  });

  test('an unchanged save, in place or by rename, emits nothing', async (t) => {
    const dir = tempDir('file', t);
    const file = join(dir, 'vhosts.yaml');
    const text = yaml({ 'a.test': [b(1)] });
    writeFileSync(file, text);
    const w = watchPath(t, file);
    await w.started;
    const version = w.source.status().version;
    let check = w.nextCheck();
    writeFileSync(file, text);
    await check;
    check = w.nextCheck();
    writeFileSync(join(dir, 'tmp'), text);
    renameSync(join(dir, 'tmp'), file);
    await check;
    // A real change afterwards: everything emitted since the snapshot is that change.
    writeFileSync(file, yaml({ 'a.test': [b(1)], 'b.test': [b(2)] }));
    await w.serves('b.test', [b(2)]);
    assert.deepEqual(w.since(1).map((e) => e.type), ['frontend-set']);
    assert.notEqual(w.source.status().version, version);
  });

  test('an invalid or missing first version: nothing is served, the reason is reported, the first valid version loads', async (t) => {
    const file = join(tempDir('file', t), 'vhosts.yaml');
    const w = watchPath(t, file);
    let started = false;
    void w.started.then(() => (started = true));
    await waitFor(() => w.source.status().lastError?.code === 'FILE_MISSING', { message: 'missing file reported' });
    writeFileSync(file, 'vhosts:\n  - a.test\n');
    await waitFor(() => w.source.status().lastError?.code === 'FILE_SCHEMA', { message: 'schema error reported' });
    assert.equal(w.source.status().state, 'starting');
    assert.equal(w.table.loaded, false);
    assert.equal(started, false);
    writeFileSync(file, yaml({ 'a.test': [b(1)] }));
    await w.started;
    assert.equal(w.table.loaded, true);
    assert.deepEqual(w.backends('a.test'), [b(1)]);
    assert.equal(w.source.status().state, 'ready');
  });
});
