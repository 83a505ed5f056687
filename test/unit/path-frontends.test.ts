import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadNames, KeySpace } from '../../adapters/redis/keys.js';
import type { ConfigEvent } from '../../src/vocabulary/events.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import { candidatePrefixes, deadMarksName, prefixEnds, prefixProblem, stripPrefix } from '../../src/frontends/path.js';
import { RoutingTable } from '../../src/routing/table.js';

const set = (key: string, source = 'redis'): ConfigEvent => ({
  type: 'frontend-set',
  version: 'v',
  source,
  frontend: { key, id: key, backends: [`http://${source}:1`] },
});

const removed = (key: string, source = 'redis'): ConfigEvent => ({ type: 'frontend-removed', version: 'v', source, key });

describe('path prefixes: candidates of a request path', () => {
  it('ends prefixes on segment boundaries, shortest first, without the query', () => {
    assert.deepEqual(candidatePrefixes('/api/v1/users?x=/y'), ['/api', '/api/v1', '/api/v1/users']);
    assert.deepEqual(candidatePrefixes('/api/'), ['/api']);
    assert.deepEqual(candidatePrefixes('/api?x'), ['/api']);
    assert.deepEqual(candidatePrefixes('/apiary'), ['/apiary']);
    assert.deepEqual(candidatePrefixes('/'), []);
    assert.deepEqual(candidatePrefixes('/?q'), []);
    assert.deepEqual(candidatePrefixes('*'), []);
    assert.deepEqual(candidatePrefixes(''), []);
  });

  it('stops at eight segments, whatever the length of the path', () => {
    const deep = '/a'.repeat(5000);
    const ends: number[] = [];
    assert.equal(prefixEnds(deep, ends), 8);
    assert.deepEqual(candidatePrefixes(deep).at(-1), '/a'.repeat(8));
  });

  it('strips a prefix to a path that still starts with "/"', () => {
    assert.equal(stripPrefix('/api/v1?x', 4), '/v1?x');
    assert.equal(stripPrefix('/api', 4), '/');
    assert.equal(stripPrefix('/api/', 4), '/');
    assert.equal(stripPrefix('/api?x=1', 4), '/?x=1');
  });

  it('keeps dead marks of a path frontend apart from the host\'s', () => {
    assert.equal(deadMarksName('a.example.com', '*.example.com/api'), 'a.example.com/api');
    assert.equal(deadMarksName('a.example.com', '*.example.com'), 'a.example.com');
  });

  it('accepts canonical prefixes only', () => {
    assert.equal(prefixProblem('/api'), null);
    assert.equal(prefixProblem('/api/v1'), null);
    for (const bad of ['api', '/', '/api/', '/api?x', '/a#b', '/a//b', '/a/../b', '/a b', '/a/b/c/d/e/f/g/h/i']) {
      assert.notEqual(prefixProblem(bad), null, bad);
    }
  });
});

describe('path prefixes: RoutingTable lookup', () => {
  it('matches on segment boundaries only', () => {
    const table = RoutingTable.fromEvents([set('www.example.com'), set('www.example.com/api')]);
    for (const path of ['/api', '/api/', '/api/v1', '/api?x=1', '/api/v1/users?x']) {
      assert.equal(table.lookup('www.example.com', path)?.key, 'www.example.com/api', path);
    }
    for (const path of ['/apiary', '/', '/ap', '/other/api', '']) {
      assert.equal(table.lookup('www.example.com', path)?.key, 'www.example.com', path);
    }
  });

  it('prefers the longest prefix', () => {
    const table = RoutingTable.fromEvents([set('h.test'), set('h.test/api'), set('h.test/api/v2'), set('h.test/api/v2/admin')]);
    assert.equal(table.lookup('h.test', '/api/v2/admin/users')?.key, 'h.test/api/v2/admin');
    assert.equal(table.lookup('h.test', '/api/v2/x')?.key, 'h.test/api/v2');
    assert.equal(table.lookup('h.test', '/api/v1')?.key, 'h.test/api');
    assert.equal(table.lookup('h.test', '/api/v2admin')?.key, 'h.test/api');
  });

  it('decides host specificity before the path', () => {
    const table = RoutingTable.fromEvents([set('*.example.com/api'), set('www.example.com'), set('*/api/v1')]);
    assert.equal(table.lookup('www.example.com', '/api/v1')?.key, 'www.example.com', 'the exact host wins over a wildcard\'s prefix');
    assert.equal(table.lookup('a.example.com', '/api/v1')?.key, '*.example.com/api', 'a wildcard host with a path');
    assert.equal(table.lookup('other.org', '/api/v1/x')?.key, '*/api/v1', 'the catch-all with a path');
  });

  it('falls through a host level that has only path frontends, none matching', () => {
    const table = RoutingTable.fromEvents([set('www.example.com/api'), set('*.example.com'), set('deep.b.test/x')]);
    assert.equal(table.lookup('www.example.com', '/api/x')?.key, 'www.example.com/api');
    assert.equal(table.lookup('www.example.com', '/other')?.key, '*.example.com');
    assert.equal(table.lookup('deep.b.test', '/y'), undefined, 'no less specific level: an unknown host');
  });

  it('follows removal: the host\'s own frontend serves again', () => {
    const table = RoutingTable.fromEvents([set('h.test'), set('h.test/api')]);
    table.apply(removed('h.test/api'));
    assert.equal(table.lookup('h.test', '/api')?.key, 'h.test');
    assert.equal(new FrontendSet().paths, 0);
  });

  it('applies precedence per key, the longest prefix first', () => {
    const table = RoutingTable.fromEvents([set('h.test/api', 'file'), set('h.test/api', 'redis'), set('h.test/api/v1', 'file'), set('h.test', 'redis')], {
      precedence: ['redis', 'file'],
    });
    assert.equal(table.lookup('h.test', '/api/x')?.source, 'redis');
    assert.equal(table.lookup('h.test', '/api/v1/x')?.key, 'h.test/api/v1');
  });

  it('finds one prefix among a thousand of one host, and keys that do not fit the compact index', () => {
    const events: ConfigEvent[] = [set('h.test')];
    for (let i = 0; i < 1000; i++) events.push(set(`h.test/svc${i}`));
    const long = `/${'x'.repeat(300)}`;
    events.push(set(`h.test${long}`), set('h.test/caf\u00e9'));
    const table = RoutingTable.fromEvents(events);
    assert.equal(table.lookup('h.test', '/svc999/a/b')?.key, 'h.test/svc999');
    assert.equal(table.lookup('h.test', `${long}/y`)?.key, `h.test${long}`);
    assert.equal(table.lookup('h.test', '/caf\u00e9')?.key, 'h.test/caf\u00e9');
    assert.equal(table.lookup('h.test', '/svc1000')?.key, 'h.test');
  });

  it('costs one hash lookup per candidate prefix of the path, however many prefixes the host has', (t) => {
    const events: ConfigEvent[] = [set('h.test')];
    for (let i = 0; i < 1000; i++) events.push(set(`h.test/svc${i}`), set(`h.test/svc${i}/v1`));
    const table = RoutingTable.fromEvents(events);
    const match = t.mock.method(FrontendSet.prototype, 'match');
    assert.equal(table.lookup('h.test', '/a/b/c/d/e/f/g/h/i/j/k/l/m/n?q')?.key, 'h.test');
    assert.equal(match.mock.callCount(), 8 + 1, 'eight candidate prefixes (the bound), then the host\'s own frontend');
    match.mock.resetCalls();
    assert.equal(table.lookup('other.test', '/svc1/v1/x'), undefined);
    assert.equal(match.mock.callCount(), 2, 'a host without paths: its own key and "*", no prefix looked up');
  });

  it('serves host lookups without a path as before', () => {
    const table = RoutingTable.fromEvents([set('h.test/api')]);
    assert.equal(table.lookup('h.test'), undefined);
  });
});

describe('path prefixes: FrontendSet bookkeeping', () => {
  it('counts path frontends per host through set, replace, delete, clone and transfer', () => {
    const frontends = FrontendSet.from([
      { key: 'h.test/a', id: 'a', backends: [] },
      { key: '*.w.test/b', id: 'b', backends: [] },
    ]);
    frontends.set({ key: 'h.test/a', id: 'other id', backends: ['http://x:1'] });
    assert.equal(frontends.paths, 2);
    assert.equal(frontends.hasPaths('h.test', 0, false), true);
    assert.equal(frontends.hasPaths('x.w.test', 2, true), true);
    const copy = frontends.clone();
    frontends.delete('h.test/a');
    assert.equal(frontends.hasPaths('h.test', 0, false), false);
    assert.equal(copy.hasPaths('h.test', 0, false), true);
    const moved = copy.transfer();
    assert.equal(moved.paths, 2);
    assert.equal(moved.match('h.test', 0, false, 's', '/a/b', 2)?.id, 'other id');
  });

  it('takes path keys from bytes as strings (setBytes declines them)', () => {
    const frontends = new FrontendSet();
    const key = Buffer.from('h.test/api');
    assert.equal(frontends.setBytes(key, 0, key.length, key, 0, 6, []), false);
    assert.equal(frontends.size, 0);
  });
});

describe('path prefixes: the Redis keys a request waits for or reads', () => {
  it('every host level, then under each the path keys its path can match', () => {
    const keys = new KeySpace('p:');
    assert.deepEqual(keys.candidates('a.b.test', '/api/v1?x'), [
      'p:frontend:a.b.test',
      'p:frontend:*.b.test',
      'p:frontend:*.test',
      'p:frontend:*',
      'p:frontend:a.b.test/api',
      'p:frontend:*.b.test/api',
      'p:frontend:*.test/api',
      'p:frontend:*/api',
      'p:frontend:a.b.test/api/v1',
      'p:frontend:*.b.test/api/v1',
      'p:frontend:*.test/api/v1',
      'p:frontend:*/api/v1',
    ]);
    assert.deepEqual(keys.candidates('a.test'), ['p:frontend:a.test', 'p:frontend:*.test', 'p:frontend:*']);
    assert.equal(keys.candidates('a.test', '/x'.repeat(100)).length, 3 * 9, 'at most 8 prefixes');
  });

  it('the dead sets: the requested host\'s, and one per prefix', () => {
    assert.deepEqual(deadNames('a.test', '/api/v1'), ['a.test', 'a.test/api', 'a.test/api/v1']);
    assert.deepEqual(deadNames('a.test'), ['a.test']);
  });
});
