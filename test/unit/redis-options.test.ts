import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffOptions } from '../../app/cli/diff.js';
import { EmittedFrontends } from '../../adapters/redis/emitted-frontends.js';
import { HeldOptions } from '../../adapters/redis/held-options.js';
import { optionFields, optionsHash, parseOptions } from '../../adapters/redis/options.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import type { Logger } from '../../src/log.js';

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const record = (msg: string, fields?: Record<string, unknown>) => void lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  return { log: { debug: record, info: record, warn: record, error: record } as unknown as Logger, lines };
}

describe('parseOptions (options:<frontend> fields, checked by the vhosts schema)', () => {
  it('takes every per-vhost option of a host, each value JSON', () => {
    const parsed = parseOptions('www.test', { id: '"site"', tcpTimeout: '2.5', retryOnError: '0', redirectHttps: 'true', hsts: '31536000' });
    assert.deepEqual(parsed, { ok: true, options: { id: 'site', tcpTimeout: 2.5, retryOnError: 0, redirectHttps: true, hsts: 31536000 } });
  });

  it('the fields are the schema\'s: a host\'s, and a path frontend\'s with stripPrefix; never backends, paths or tls', () => {
    assert.deepEqual([...optionFields('*.test')].sort(), ['balance', 'healthCheck', 'hsts', 'id', 'redirectHttps', 'retryOnError', 'sticky', 'tcpTimeout']);
    assert.deepEqual([...optionFields('*.test/api')].sort(), ['balance', 'healthCheck', 'hsts', 'id', 'redirectHttps', 'retryOnError', 'sticky', 'stripPrefix', 'tcpTimeout']);
    assert.deepEqual(parseOptions('www.test/api', { stripPrefix: 'true' }), { ok: true, options: { stripPrefix: true } });
  });

  it('refuses each bad field with its reason: not JSON, a wrong type, out of range, unknown, not for a host', () => {
    const parsed = parseOptions('www.test', {
      id: 'site',
      redirectHttps: '"true"',
      hsts: '-1',
      tcpTimeout: '0',
      weight: '2',
      stripPrefix: 'true',
      backends: '[]',
      tls: '{}',
    });
    assert.equal(parsed.ok, false);
    const reasons = Object.fromEntries((parsed.ok ? [] : parsed.problems).map((p) => [p.field, p.reason]));
    assert.match(reasons.id!, /not JSON .*quotes/);
    assert.match(reasons.redirectHttps!, /must be boolean/);
    assert.match(reasons.hsts!, /must be >= 0/);
    assert.match(reasons.tcpTimeout!, /must be > 0/);
    for (const field of ['weight', 'stripPrefix', 'backends', 'tls']) assert.match(reasons[field]!, /not an option of a host/, field);
  });

  it('optionsHash writes what parseOptions reads back', () => {
    const options = { id: 'x y', hsts: 60, redirectHttps: false, stripPrefix: true };
    assert.deepEqual(optionsHash(options), { id: '"x y"', hsts: '60', redirectHttps: 'false', stripPrefix: 'true' });
    assert.deepEqual(parseOptions('h.test/p', optionsHash(options)), { ok: true, options });
  });
});

describe('HeldOptions (the options a Redis source serves)', () => {
  const list = (key: string, id = 'list-id') => ({ key, id, backends: ['http://10.0.0.1:80'] });
  const hash = (fields: Record<string, string>) => ({ kind: 'hash' as const, fields });

  it('composes a list with its options; `id` replaces the list\'s identifier, which comes back when it goes', () => {
    const held = new HeldOptions((key) => `options:${key}`, recordingLog().log);
    assert.equal(held.change('a.test', hash({ id: '"named"', hsts: '60' })), true);
    const served = held.compose(list('a.test'));
    assert.deepEqual(served, { key: 'a.test', id: 'named', backends: ['http://10.0.0.1:80'], options: { hsts: 60 } });
    assert.equal(held.change('a.test', { kind: 'absent' }), true);
    assert.deepEqual(held.compose(held.listOf(served)), list('a.test'));
  });

  it('a path frontend takes its host level\'s options (not its id) and overrides them', () => {
    const held = new HeldOptions((key) => `options:${key}`, recordingLog().log);
    held.change('*.test', hash({ id: '"wild"', redirectHttps: 'true', hsts: '60' }));
    held.change('*.test/api', hash({ redirectHttps: 'false', stripPrefix: 'true' }));
    assert.deepEqual(held.compose(list('*.test/api')).options, { redirectHttps: false, hsts: 60, stripPrefix: true });
    assert.equal(held.compose(list('*.test/api')).id, 'list-id');
    assert.deepEqual(held.compose(list('*.test/other')).options, { redirectHttps: true, hsts: 60 });
  });

  it('a bad hash keeps the last good options, logs each bad field once, and is listed until fixed', () => {
    const { log, lines } = recordingLog();
    const held = new HeldOptions((key) => `sy:options:${key}`, log);
    held.change('q.test', hash({ redirectHttps: 'true' }));
    assert.equal(held.change('q.test', hash({ redirectHttps: 'true', hsts: 'soon' })), false, 'nothing served changes');
    held.change('q.test', hash({ redirectHttps: 'true', hsts: 'soon' })); // read again: no second log line
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /options quarantined.*"key":"sy:options:q\.test","field":"hsts".*"serving":"previous"/);
    assert.deepEqual(held.quarantined.map((q) => [q.key, q.serving]), [['sy:options:q.test', 'previous']]);
    assert.deepEqual(held.compose(list('q.test')).options, { redirectHttps: true });
    held.change('q.test', hash({ hsts: '5' }));
    assert.deepEqual(held.quarantined, []);
    assert.deepEqual(held.compose(list('q.test')).options, { hsts: 5 });
  });

  it('a full read replaces everything: options absent from it are gone, bad ones with nothing before serve none', () => {
    const held = new HeldOptions((key) => `options:${key}`, recordingLog().log);
    held.change('old.test', hash({ hsts: '1' }));
    held.replaceAll([
      ['new.test', hash({ hsts: '2' })],
      ['bad.test', { kind: 'not-a-hash' }],
    ]);
    assert.equal(held.compose(list('old.test')).options, undefined);
    assert.deepEqual(held.compose(list('new.test')).options, { hsts: 2 });
    assert.deepEqual(held.quarantined, [{ key: 'options:bad.test', reason: 'not a hash', serving: 'none' }]);
  });
});

describe('EmittedFrontends.pathsUnder (the path frontends a host level\'s options cover)', () => {
  it('follows the snapshot and every change after it', () => {
    const spec = (key: string) => ({ key, id: key, backends: ['http://10.0.0.1:80'] });
    const emitted = new EmittedFrontends('redis');
    emitted.snapshot(FrontendSet.from([spec('h.test'), spec('h.test/a'), spec('h.test/b/c'), spec('*.h.test/a')]), []);
    assert.deepEqual(emitted.pathsUnder('h.test').sort(), ['h.test/a', 'h.test/b/c']);
    emitted.change('h.test/a', null);
    emitted.change('h.test/d', spec('h.test/d'));
    assert.deepEqual(emitted.pathsUnder('h.test').sort(), ['h.test/b/c', 'h.test/d']);
    assert.deepEqual(emitted.pathsUnder('*.h.test'), ['*.h.test/a']);
    assert.deepEqual(emitted.pathsUnder('other.test'), []);
  });
});

describe('diffOptions (what import writes to the options: hashes)', () => {
  const hash = (fields: Record<string, string>) => ({ kind: 'hash' as const, fields });

  it('compares by value, id aside; rewrites keep a stored id; deletes what the file no longer sets', () => {
    const wanted = new Map<string, Record<string, string> | null>([
      ['same.test', { hsts: '60' }],
      ['changed.test', { hsts: '600' }],
      ['dropped.test', null],
      ['id-only.test', null],
      ['bad.test', { hsts: '1' }],
      ['new.test', { redirectHttps: 'true' }],
    ]);
    const stored = new Map([
      ['same.test', hash({ hsts: '6e1', id: '"x"' })],
      ['changed.test', hash({ hsts: '60', id: '"kept"' })],
      ['dropped.test', hash({ hsts: '60' })],
      ['id-only.test', hash({ id: '"x"' })],
      ['bad.test', { kind: 'not-a-hash' as const }],
      ['other.test', hash({ hsts: '1' })],
    ]);
    const kinds = (removals: boolean) => Object.fromEntries(diffOptions(wanted, stored, { removals }).map((c) => [c.key, [c.kind, c.after]]));
    assert.deepEqual(kinds(false), {
      'same.test': ['unchanged', { hsts: '6e1', id: '"x"' }],
      'changed.test': ['write', { hsts: '600', id: '"kept"' }],
      'dropped.test': ['delete', null],
      'id-only.test': ['unchanged', { id: '"x"' }],
      'bad.test': ['write', { hsts: '1' }],
      'new.test': ['write', { redirectHttps: 'true' }],
    });
    assert.deepEqual(kinds(true)['other.test'], ['delete', null], 'with --prune, a hash the file does not name goes');
  });
});
