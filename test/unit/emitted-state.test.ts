import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EmittedDeadMarks } from '../../adapters/redis/emitted-dead.js';
import { EmittedFrontends } from '../../adapters/redis/emitted-frontends.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';

describe('EmittedFrontends (what the Redis source told the table)', () => {
  const a = { key: 'a.test', id: 'a', backends: ['http://a:1'] };

  it('a re-read that finds a key as it was emits nothing, in 100 tries', () => {
    const emitted = new EmittedFrontends('redis');
    emitted.snapshot(FrontendSet.from([a]), []);
    let events = 0;
    for (let i = 0; i < 100; i++) if (emitted.change('a.test', { ...a, backends: [...a.backends] }) !== null) events++;
    for (let i = 0; i < 100; i++) if (emitted.change('gone.test', null) !== null) events++;
    assert.equal(events, 0);
  });

  it('a change emits one event carrying the new version; undoing it brings the old version back', () => {
    const emitted = new EmittedFrontends('redis');
    const snapshot = emitted.snapshot(FrontendSet.from([a]), []);
    const v0 = emitted.version;
    assert.equal(snapshot.type === 'snapshot' && snapshot.version, v0);
    const set = emitted.change('b.test', { key: 'b.test', id: 'b', backends: ['http://b:1'] });
    assert.equal(set?.type, 'frontend-set');
    assert.notEqual(emitted.version, v0);
    assert.equal(set?.type === 'frontend-set' && set.version, emitted.version);
    const removed = emitted.change('b.test', null);
    assert.equal(removed?.type, 'frontend-removed');
    assert.equal(emitted.version, v0, 'the same frontends, the same version');
  });

  it('the snapshot set is moved into the table by its event; the source keeps its own copy', () => {
    const emitted = new EmittedFrontends('redis');
    const frontends = FrontendSet.from([a]);
    emitted.snapshot(frontends, []);
    frontends.transfer(); // what the table does
    assert.equal(emitted.change('a.test', a), null, 'still known after the set was moved');
  });
});

describe('EmittedDeadMarks', () => {
  it('emits only marks that are new or moved, and lifts the ones gone', () => {
    const dead = new EmittedDeadMarks('redis');
    const until = Date.now() + 30_000;
    dead.replaceAll([{ host: 'a.test', index: 0, until }]);
    assert.deepEqual(dead.change('a.test', [{ host: 'a.test', index: 0, until: until + 100 }]), [], 'PTTL drift is not a change');
    const events = dead.change('a.test', [{ host: 'a.test', index: 1, until }]);
    assert.deepEqual(events.map((e) => e.type), ['backend-dead', 'backend-alive']);
    assert.deepEqual(dead.change('a.test', []).map((e) => e.type), ['backend-alive']);
    assert.equal(dead.hosts, 0);
  });
});
