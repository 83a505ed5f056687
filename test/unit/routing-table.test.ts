import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigEvent } from '../../src/vocabulary/events.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import { replayable } from '../../src/routing/history.js';
import { RoutingTable } from '../../src/routing/table.js';

const set = (key: string, backends: string[], source = 'redis'): ConfigEvent => ({
  type: 'frontend-set',
  version: 'v',
  source,
  frontend: { key, id: key, backends },
});

describe('RoutingTable lookup', () => {
  it('prefers the exact host, then the most specific wildcard, then *', () => {
    const table = RoutingTable.fromEvents([
      set('*', ['http://any:1']),
      set('*.example.com', ['http://wild:1']),
      set('*.b.example.com', ['http://deeper:1']),
      set('www.example.com', ['http://exact:1']),
    ]);
    assert.equal(table.lookup('www.example.com')?.key, 'www.example.com');
    assert.equal(table.lookup('a.example.com')?.key, '*.example.com');
    assert.equal(table.lookup('x.b.example.com')?.key, '*.b.example.com');
    assert.equal(table.lookup('other.org')?.key, '*');
  });

  it('matches a wildcard at any depth (Hipache stopped at 5 labels)', () => {
    const table = RoutingTable.fromEvents([set('*.example.com', ['http://wild:1'])]);
    assert.equal(table.lookup('a.b.c.d.e.f.g.example.com')?.key, '*.example.com');
    assert.equal(table.lookup('example.com'), undefined, 'a wildcard does not match its bare suffix');
  });

  it('answers undefined for an unknown host when there is no catch-all', () => {
    const table = RoutingTable.fromEvents([set('a.test', ['http://a:1'])]);
    assert.equal(table.lookup('b.test'), undefined);
  });

  it('applies removal and replacement', () => {
    const table = RoutingTable.fromEvents([set('a.test', ['http://a:1']), set('a.test', ['http://b:1'])]);
    assert.deepEqual(table.lookup('a.test')?.backends, ['http://b:1']);
    table.apply({ type: 'frontend-removed', source: 'redis', version: 'v', key: 'a.test' });
    assert.equal(table.lookup('a.test'), undefined);
  });

  it('moves a snapshot sent as a FrontendSet into the table: applied once, the event\'s set detached', () => {
    const frontends = FrontendSet.from([{ key: 'a.test', id: 'a', backends: ['http://a:1'] }]);
    const snapshot: ConfigEvent = { type: 'snapshot', source: 'redis', version: 'v', frontends, dead: [] };
    const table = RoutingTable.fromEvents([snapshot]);
    assert.equal(table.lookup('a.test')?.id, 'a');
    assert.throws(() => frontends.set({ key: 'b.test', id: 'b', backends: ['http://b:1'] }), /transferred/);
    assert.throws(() => RoutingTable.fromEvents([snapshot]), /transferred/, 'a second table cannot silently get an empty set');
    table.apply(set('b.test', ['http://b:1']));
    assert.equal(table.lookup('b.test')?.id, 'b.test', 'the table\'s own set stays usable');
  });

  it('a snapshot replaces everything its source said before, not other sources', () => {
    const table = RoutingTable.fromEvents([set('old.test', ['http://o:1']), set('file.test', ['http://f:1'], 'file')]);
    table.apply({ type: 'snapshot', source: 'redis', version: 'v', frontends: [{ key: 'new.test', id: 'n', backends: ['http://n:1'] }], dead: [] });
    assert.equal(table.lookup('old.test'), undefined);
    assert.equal(table.lookup('new.test')?.id, 'n');
    assert.equal(table.lookup('file.test')?.source, 'file');
    assert.equal(table.loaded, true);
  });

  it('a certificates-only snapshot (certDir) indexes its certificates but does not make the table loaded: requests still wait for the routes', () => {
    const table = new RoutingTable();
    const certificate = { key: 'a.pem', names: ['a.test'], pem: '', notAfter: Date.now() + 60_000, fingerprint: 'f' };
    table.apply({ type: 'snapshot', source: 'certdir', version: 'v', frontends: [], dead: [], certificates: [certificate], certificatesOnly: true });
    assert.equal(table.loaded, false);
    assert.equal(table.certificates.select('a.test')?.source, 'certdir');
    table.apply({ type: 'snapshot', source: 'redis', version: 'v', frontends: [], dead: [] });
    assert.equal(table.loaded, true);
  });

  it('resolves a key defined by two sources by precedence', () => {
    const events = [set('h.test', ['http://redis:1'], 'redis'), set('h.test', ['http://file:1'], 'file')];
    assert.equal(RoutingTable.fromEvents(events, { precedence: ['redis', 'file'] }).lookup('h.test')?.source, 'redis');
    assert.equal(RoutingTable.fromEvents(events, { precedence: ['file', 'redis'] }).lookup('h.test')?.source, 'file');
  });

  it('among wildcards, the most specific wins whatever its source; at the same suffix, precedence; then * by precedence', () => {
    const table = RoutingTable.fromEvents(
      [
        set('*.x.test', ['http://r:1'], 'redis'),
        set('*.b.x.test', ['http://f:1'], 'file'),
        set('*.b.x.test', ['http://r:2'], 'redis'),
        set('*.c.x.test', ['http://f:2'], 'file'),
        set('*', ['http://f:3'], 'file'),
        set('*', ['http://r:3'], 'redis'),
      ],
      { precedence: ['redis', 'file'] },
    );
    assert.deepEqual(table.lookup('a.b.x.test')?.backends, ['http://r:2']);
    assert.deepEqual(table.lookup('a.c.x.test')?.backends, ['http://f:2']);
    assert.deepEqual(table.lookup('deep.er.c.x.test')?.backends, ['http://f:2']);
    assert.deepEqual(table.lookup('a.x.test')?.backends, ['http://r:1']);
    assert.deepEqual(table.lookup('elsewhere')?.backends, ['http://r:3']);
    table.apply({ type: 'frontend-removed', source: 'redis', version: 'v', key: '*' });
    assert.deepEqual(table.lookup('elsewhere')?.backends, ['http://f:3']);
    table.apply({ type: 'frontend-removed', source: 'redis', version: 'v', key: '*.b.x.test' });
    assert.deepEqual(table.lookup('a.b.x.test')?.backends, ['http://f:1']);
  });

  it('returns routes with the fields the proxy reads, for exact, wildcard and catch-all hits', () => {
    const table = RoutingTable.fromEvents([
      { type: 'frontend-set', source: 'file', version: 'v', frontend: { key: 'a.test', id: 'site', backends: ['http://a:1'], options: { tcpTimeout: 3 } } },
      set('*.w.test', ['http://w:1']),
      set('*', ['http://any:1']),
    ]);
    assert.deepEqual({ ...table.lookup('a.test') }, { key: 'a.test', id: 'site', backends: ['http://a:1'], options: { tcpTimeout: 3 }, source: 'file' });
    assert.deepEqual({ ...table.lookup('x.w.test') }, { key: '*.w.test', id: '*.w.test', backends: ['http://w:1'], options: undefined, source: 'redis' });
    assert.deepEqual({ ...table.lookup('none.test') }, { key: '*', id: '*', backends: ['http://any:1'], options: undefined, source: 'redis' });
    assert.equal(table.frontend('redis', '*.w.test')?.key, '*.w.test');
    assert.equal(table.frontend('file', '*.w.test'), undefined);
    assert.deepEqual([...table.routes()].map((r) => `${r.source}:${r.key}`).sort(), ['file:a.test', 'redis:*', 'redis:*.w.test']);
  });

  it('serves 100k hosts of one source, through deletions and re-adds', () => {
    const table = new RoutingTable();
    const frontends = FrontendSet.from(Array.from({ length: 100_000 }, (_, i) => ({ key: `h${i}.big.test`, id: `h${i}`, backends: ['http://shared:1'] })));
    table.apply({ type: 'snapshot', source: 'redis', version: 'v', frontends, dead: [] });
    for (let i = 0; i < 100_000; i += 3) table.apply({ type: 'frontend-removed', source: 'redis', version: 'v', key: `h${i}.big.test` });
    for (let i = 0; i < 100_000; i += 9) table.apply(set(`h${i}.big.test`, ['http://back:1']));
    for (let i = 0; i < 100_000; i++) {
      const want = i % 9 === 0 ? 'http://back:1' : i % 3 === 0 ? undefined : 'http://shared:1';
      assert.equal(table.lookup(`h${i}.big.test`)?.backends[0], want, `h${i}`);
    }
    assert.equal(table.stats().frontends, 100_000 - Math.ceil(100_000 / 3) + Math.ceil(100_000 / 9));
  });

  it('specificity beats precedence: an exact host from the lower source wins over a wildcard', () => {
    const table = RoutingTable.fromEvents([set('*.x.test', ['http://r:1'], 'redis'), set('a.x.test', ['http://f:1'], 'file')], {
      precedence: ['redis', 'file'],
    });
    assert.equal(table.lookup('a.x.test')?.source, 'file');
  });
});

describe('RoutingTable dead marks', () => {
  it('marks expire on their own and can be revived early', () => {
    let now = 1000;
    const table = new RoutingTable({ now: () => now });
    table.apply({ type: 'backend-dead', source: 'redis', mark: { host: 'a.test', index: 1, until: 2000 } });
    assert.equal(table.isDead('a.test', 1), true);
    assert.equal(table.isDead('a.test', 0), false);
    assert.equal(table.isDead('b.test', 1), false, 'dead sets are per requested host');
    now = 2000;
    assert.equal(table.isDead('a.test', 1), false);
    now = 1500;
    table.apply({ type: 'backend-alive', source: 'redis', host: 'a.test', index: 1 });
    assert.equal(table.isDead('a.test', 1), false);
  });

  it('a snapshot drops its source marks but keeps the proxy own marks', () => {
    const table = new RoutingTable({ now: () => 0 });
    table.apply({ type: 'backend-dead', source: 'redis', mark: { host: 'a.test', index: 0, until: 10 } });
    table.apply({ type: 'backend-dead', source: 'proxy', mark: { host: 'a.test', index: 1, until: 10 } });
    table.apply({ type: 'snapshot', source: 'redis', version: 'v', frontends: [], dead: [] });
    assert.deepEqual(table.deadIndexes('a.test'), [1]);
  });

  it('lists the marks in force, at most `limit` of them (by host, then index), with the count of all', () => {
    let now = 0;
    const table = new RoutingTable({ now: () => now });
    for (const [host, index, until] of [['c.test', 0, 50], ['b.test', 2, 50], ['b.test', 1, 50], ['a.test', 0, 5], ['d.test', 0, 50]] as const) {
      table.apply({ type: 'backend-dead', source: 'proxy', mark: { host, index, until } });
    }
    now = 10; // a.test's mark has expired
    const { total, marks } = table.deadMarks(3);
    assert.equal(total, 4);
    assert.deepEqual(marks.map((m) => `${m.host}#${m.index}`), ['b.test#1', 'b.test#2', 'c.test#0']);
    assert.deepEqual(marks[0], { host: 'b.test', index: 1, until: 50, source: 'proxy' });
  });
});

describe('RoutingTable history', () => {
  it('numbers events, keeps a bounded window, and replays into the same table', () => {
    const table = new RoutingTable({ historySize: 3 });
    const events = [set('a.test', ['http://a:1']), set('b.test', ['http://b:1']), set('c.test', ['http://c:1']), set('d.test', ['http://d:1'])];
    for (const e of events) table.apply(e);
    assert.equal(table.version, 4);
    const kept = table.history();
    assert.deepEqual(kept.map((h) => h.seq), [2, 3, 4]);
    assert.deepEqual(table.history(3).map((h) => h.seq), [4]);
    const replayed = RoutingTable.fromEvents(kept.map((h) => replayable(h.event)!));
    for (const host of ['b.test', 'c.test', 'd.test']) assert.deepEqual(replayed.lookup(host), table.lookup(host));
  });

  it('records a snapshot by its size, not its content; the events after it replay', () => {
    const table = new RoutingTable();
    const frontends = FrontendSet.from([{ key: 'a.test', id: 'a', backends: ['http://a:1'] }, { key: 'b.test', id: 'b', backends: ['http://b:1'] }]);
    table.apply({ type: 'snapshot', source: 'redis', version: 'v', frontends, dead: [{ host: 'a.test', index: 0, until: Date.now() + 60_000 }] });
    table.apply({ type: 'snapshot', source: 'file', version: 'v', frontends: [{ key: 'f.test', id: 'f', backends: ['http://f:1'] }], dead: [] });
    table.apply(set('c.test', ['http://c:1']));
    const [redis, file, change] = table.history();
    assert.deepEqual(redis?.event, { type: 'snapshot', source: 'redis', version: 'v', frontends: 2, dead: 1, certificates: 0 });
    assert.deepEqual(file?.event, { type: 'snapshot', source: 'file', version: 'v', frontends: 1, dead: 0, certificates: 0 });
    assert.equal(replayable(redis!.event), null, 'a snapshot cannot be replayed from the history');
    const replayed = RoutingTable.fromEvents([replayable(change!.event)!]);
    assert.deepEqual(replayed.lookup('c.test'), table.lookup('c.test'));
  });
});
