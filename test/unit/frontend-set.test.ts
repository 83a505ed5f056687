import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrontendSpec } from '../../src/vocabulary/events.js';
import { BackendLists } from '../../src/frontends/backend-lists.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import { hashOf } from '../../src/frontends/key-index.js';

const spec = (key: string, id = key, backends = [`http://${key}:1`]): FrontendSpec => ({ key, id, backends });

/** The set's content as plain objects, in its iteration order. */
const content = (set: FrontendSet) => [...set].map(({ key, id, backends, options }) => ({ key, id, backends: [...backends], options }));

/** A deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FrontendSet', () => {
  it('adds, replaces, deletes and re-adds a key', () => {
    const set = new FrontendSet();
    set.set(spec('a.test', 'site-a', ['http://a:1', 'http://a:2']));
    assert.equal(set.size, 1);
    assert.deepEqual({ ...set.get('a.test', 'redis') }, { key: 'a.test', id: 'site-a', backends: ['http://a:1', 'http://a:2'], options: undefined, source: 'redis' });
    set.set(spec('a.test', 'site-a', ['http://b:1']));
    assert.deepEqual(set.get('a.test')?.backends, ['http://b:1'], 'same id: replaced in place');
    set.set(spec('a.test', 'renamed', ['http://b:1']));
    assert.equal(set.get('a.test')?.id, 'renamed', 'a new id: a new record');
    assert.equal(set.size, 1);
    assert.equal(set.delete('a.test'), true);
    assert.equal(set.delete('a.test'), false);
    assert.equal(set.get('a.test'), undefined);
    assert.equal(set.size, 0);
    set.set(spec('a.test', 'again'));
    assert.equal(set.get('a.test')?.id, 'again');
    assert.equal(set.size, 1);
  });

  it('keeps ids that are a prefix of their key, equal to it, or unrelated, through changes', () => {
    const set = new FrontendSet();
    set.set(spec('www.example.com', 'www'));
    set.set(spec('api.example.com'));
    set.set(spec('x.example.com', 'other'));
    set.set(spec('y.example.com', ''));
    assert.deepEqual(content(set).map((f) => [f.key, f.id]), [
      ['www.example.com', 'www'],
      ['api.example.com', 'api.example.com'],
      ['x.example.com', 'other'],
      ['y.example.com', ''],
    ]);
    set.set(spec('www.example.com', 'www.example.com.old')); // longer than the key: stored apart
    set.set(spec('x.example.com', 'x'));
    assert.equal(set.get('www.example.com')?.id, 'www.example.com.old');
    assert.equal(set.get('x.example.com')?.id, 'x');
    assert.equal(set.get('y.example.com')?.id, '');
  });

  it('matches a wildcard suffix inside the host without building the key', () => {
    const set = FrontendSet.from([spec('*.b.test'), spec('b.test'), spec('*')]);
    assert.equal(set.wildcards, 1);
    assert.equal(set.match('a.b.test', 2, true, 'r')?.key, '*.b.test');
    assert.equal(set.match('a.b.test', 2, false, 'r')?.key, 'b.test');
    assert.equal(set.match('a.c.test', 2, true, 'r'), undefined);
    assert.equal(set.match('x.test', 2, true, 'r'), undefined, '"*.test" is not "*.b.test"');
    assert.equal(set.get('*')?.key, '*');
    set.delete('*.b.test');
    assert.equal(set.wildcards, 0);
    assert.equal(set.match('a.b.test', 2, true, 'r'), undefined);
  });

  it('keeps keys and ids the arena cannot hold (non-ASCII, too long) beside it, and moves a key between both', () => {
    const long = 'l'.repeat(300) + '.test';
    const set = FrontendSet.from([spec('café.test'), spec(long), spec('*.é.test'), spec('ascii.test', 'ïd')]);
    assert.equal(set.size, 4);
    assert.equal(set.wildcards, 1);
    assert.equal(set.get('café.test')?.key, 'café.test');
    assert.equal(set.get(long)?.id, long);
    assert.equal(set.match('x.é.test', 2, true, 'r')?.key, '*.é.test');
    assert.equal(set.get('ascii.test')?.id, 'ïd');
    set.set(spec('ascii.test', 'plain'));
    assert.equal(set.get('ascii.test')?.id, 'plain');
    assert.equal(set.size, 4, 'moved into the arena, not duplicated');
    set.set(spec('ascii.test', 'ünïcode'));
    assert.equal(set.get('ascii.test')?.id, 'ünïcode');
    assert.equal(set.size, 4, 'moved out again');
    assert.deepEqual(content(set).map((f) => f.key).sort(), ['*.é.test', 'ascii.test', 'café.test', long].sort());
    for (const key of ['café.test', long, '*.é.test', 'ascii.test']) assert.equal(set.delete(key), true);
    assert.equal(set.size, 0);
    assert.equal(set.wildcards, 0);
  });

  it('finds every key of a probe chain after deletions in the middle of it (colliding hashes)', () => {
    // Keys whose hashes share their low 12 bits land in the same slot of any table of up to 4096 slots.
    const colliding: string[] = [];
    const target = hashOf('seed.test', 0, false) & 4095;
    for (let i = 0; colliding.length < 12; i++) {
      const key = `c${i}.test`;
      if ((hashOf(key, 0, false) & 4095) === target) colliding.push(key);
    }
    const set = FrontendSet.from(colliding.map((k) => spec(k)));
    for (const key of colliding.filter((_, i) => i % 3 === 1)) assert.equal(set.delete(key), true);
    for (const [i, key] of colliding.entries()) assert.equal(set.get(key)?.key, i % 3 === 1 ? undefined : key, key);
    for (const key of colliding.filter((_, i) => i % 3 === 1)) set.set(spec(key, 'back'));
    for (const [i, key] of colliding.entries()) assert.equal(set.get(key)?.id, i % 3 === 1 ? 'back' : key, key);
    assert.equal(set.size, colliding.length);
  });

  it('agrees with a Map through 200k random adds, replacements and deletions (rehashes and compactions)', () => {
    const random = prng(42);
    const set = new FrontendSet();
    const model = new Map<string, FrontendSpec>();
    const lists = [['http://a:1'], ['http://b:1', 'http://b:2'], ['http://c:1'], []];
    for (let step = 0; step < 200_000; step++) {
      const n = Math.floor(random() * 20_000);
      const key = n % 50 === 0 ? `*.w${n}.test` : `h${n}.test`;
      if (random() < 0.3) {
        assert.equal(set.delete(key), model.delete(key), `delete ${key} at step ${step}`);
      } else {
        const id = random() < 0.5 ? `h${n}` : `app-${Math.floor(random() * 5)}`;
        const f = spec(key, id, lists[Math.floor(random() * lists.length)]);
        set.set(f);
        model.set(key, f);
      }
    }
    assert.equal(set.size, model.size);
    assert.equal(set.wildcards, [...model.keys()].filter((k) => k.startsWith('*.')).length);
    for (let n = 0; n < 20_000; n++) {
      for (const key of [`h${n}.test`, `*.w${n}.test`]) {
        const want = model.get(key);
        const got = set.get(key);
        assert.deepEqual(got && { key: got.key, id: got.id, backends: [...got.backends] }, want && { ...want, backends: [...want.backends] }, key);
      }
    }
    const listed = new Map(content(set).map((f) => [f.key, f]));
    assert.equal(listed.size, model.size, 'iteration yields each live key once');
    assert.ok(set.backendLists <= lists.length, 'lists are shared, and released when unused');
  });

  it('shares one frozen backend array among frontends with equal lists, and drops a list nobody uses', () => {
    const set = new FrontendSet();
    for (let i = 0; i < 1000; i++) set.set(spec(`h${i}.test`, `h${i}`, ['http://shared:1', 'http://shared:2']));
    assert.equal(set.backendLists, 1);
    const a = set.get('h1.test')!.backends;
    assert.equal(set.get('h999.test')!.backends, a);
    assert.ok(Object.isFrozen(a));
    set.set(spec('h1.test', 'h1', ['http://own:1']));
    assert.equal(set.backendLists, 2);
    set.delete('h1.test');
    assert.equal(set.backendLists, 1);
    set.set({ key: 'o.test', id: 'o', backends: ['http://shared:1', 'http://shared:2'], options: { tcpTimeout: 5 } });
    assert.equal(set.backendLists, 2, 'options are part of what is shared');
    assert.deepEqual(set.get('o.test')?.options, { tcpTimeout: 5 });
    assert.equal(set.get('h2.test')?.options, undefined);
  });

  it('a clone is independent of its original', () => {
    const original = FrontendSet.from([spec('a.test'), spec('b.test'), spec('*.c.test')]);
    const copy = original.clone();
    copy.delete('a.test');
    copy.set(spec('b.test', 'changed'));
    copy.set(spec('d.test'));
    original.set(spec('e.test'));
    assert.deepEqual(content(original).map((f) => `${f.key}=${f.id}`), ['a.test=a.test', 'b.test=b.test', '*.c.test=*.c.test', 'e.test=e.test']);
    assert.deepEqual(content(copy).map((f) => `${f.key}=${f.id}`).sort(), ['*.c.test=*.c.test', 'b.test=changed', 'd.test=d.test']);
    assert.equal(copy.wildcards, 1);
  });
});

describe('FrontendSet.setBytes (keys and ids straight from Redis replies)', () => {
  const b = (s: string) => Buffer.from(`xx${s}yy`, 'utf8'); // bytes at offset 2, not alone in their buffer

  it('stores the same frontend as set() would, replacing and being replaced by it', () => {
    const set = new FrontendSet();
    const key = b('h1.test');
    const id = b('h1');
    assert.equal(set.setBytes(key, 2, key.length - 2, id, 2, id.length - 2, ['http://a:1']), true);
    assert.deepEqual({ ...set.get('h1.test') }, { key: 'h1.test', id: 'h1', backends: ['http://a:1'], options: undefined, source: '' });
    set.set(spec('h1.test', 'other'));
    assert.equal(set.get('h1.test')?.id, 'other');
    const wild = b('*.w.test');
    assert.equal(set.setBytes(wild, 2, wild.length - 2, wild, 2, wild.length - 2, ['http://w:1']), true);
    assert.equal(set.wildcards, 1);
    assert.equal(set.match('a.w.test', 2, true, 'r')?.id, '*.w.test');
    assert.equal(set.setBytes(key, 2, key.length - 2, id, 2, id.length - 2, ['http://b:1']), true);
    assert.deepEqual(set.get('h1.test')?.backends, ['http://b:1']);
    assert.equal(set.get('h1.test')?.id, 'h1');
    assert.equal(set.size, 2);
  });

  it('refuses non-ASCII bytes (the caller sets strings), and takes a key back from beside the arena', () => {
    const set = new FrontendSet();
    const key = b('café.test');
    assert.equal(set.setBytes(key, 2, key.length - 2, key, 2, key.length - 2, ['http://c:1']), false);
    assert.equal(set.size, 0);
    set.set(spec('a.test', 'ïd'));
    const ascii = b('a.test');
    assert.equal(set.setBytes(ascii, 2, ascii.length - 2, ascii, 2, 3, ['http://a:1']), true);
    assert.equal(set.get('a.test')?.id, 'a');
    assert.equal(set.size, 1);
  });
});

describe('FrontendSet transfer', () => {
  it('moves the content without a copy and detaches the original', () => {
    const original = FrontendSet.from([spec('a.test'), spec('*.w.test'), spec('café.test')]);
    const moved = original.transfer();
    assert.deepEqual(content(moved).map((f) => f.key), ['a.test', '*.w.test', 'café.test']);
    assert.equal(moved.wildcards, 1);
    assert.equal(original.get('a.test'), undefined);
    for (const use of [() => original.size, () => original.set(spec('b.test')), () => original.delete('a.test'), () => [...original], () => original.clone(), () => original.transfer()]) {
      assert.throws(use, /transferred/);
    }
    moved.set(spec('b.test'));
    assert.equal(moved.size, 4);
  });
});

describe('BackendLists', () => {
  it('numbers equal lists alike, counts references, and reuses a released number', () => {
    const lists = new BackendLists();
    const a = lists.intern(['http://a:1']);
    assert.equal(lists.intern(['http://a:1']), a);
    const b = lists.intern(['http://a:1', 'http://a:1']);
    assert.notEqual(b, a, 'a backend listed twice is another list (twice the traffic)');
    assert.notEqual(lists.intern(['http://a:1'], { retryOnError: 1 }), a);
    lists.release(a);
    assert.deepEqual(lists.backends(a), ['http://a:1'], 'still referenced once');
    lists.release(a);
    assert.equal(lists.size, 2);
    const c = lists.intern(['http://c:1']);
    assert.equal(c, a, 'the freed number is reused');
    assert.deepEqual(lists.backends(c), ['http://c:1']);
  });
});
