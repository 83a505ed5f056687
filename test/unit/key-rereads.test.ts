import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyRereads } from '../../adapters/redis/rereads.js';

/** Reads the test answers by hand, in any order; `wire` holds the reads sent. */
function harness() {
  const wire: { key: string; answer: (value: string) => void }[] = [];
  const applied: string[] = [];
  const flushes: (() => void)[] = [];
  const rereads = new KeyRereads(
    (key) => new Promise((resolve) => wire.push({ key, answer: (value) => resolve(() => applied.push(`${key}=${value}`)) })),
    (key, err) => applied.push(`${key}: ${err.message}`),
    (then) => flushes.push(then), // "on the wire" when the test says so
  );
  const flush = () => flushes.splice(0).forEach((f) => f());
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { rereads, wire, applied, flush, settle };
}

describe('KeyRereads', () => {
  it('a change while the key is being read gets a read of its own at once; only the newest answer applies', async () => {
    const { rereads, wire, applied, flush, settle } = harness();
    rereads.changed('frontend:a');
    flush();
    rereads.changed('frontend:a');
    assert.equal(wire.length, 2, 'the second read is sent before the first is answered');
    wire[1]!.answer('new');
    wire[0]!.answer('old');
    await settle();
    assert.deepEqual(applied, ['frontend:a=new'], 'the older answer, arriving last, is dropped');
  });

  it('a change announced before the read left needs no read of its own', async () => {
    const { rereads, wire, flush } = harness();
    rereads.changed('frontend:a');
    rereads.changed('frontend:a');
    assert.equal(wire.length, 1);
    flush();
    rereads.changed('frontend:a');
    assert.equal(wire.length, 2);
  });

  it('beyond two reads in flight, one more read follows the first answer, and pending() waits for it', async () => {
    const { rereads, wire, applied, flush, settle } = harness();
    for (let i = 0; i < 5; i++) {
      rereads.changed('frontend:a');
      flush();
    }
    assert.equal(wire.length, 2, 'at most two reads of a key in flight');
    let done = false;
    void rereads.pending(['frontend:a', 'frontend:b'])!.then(() => (done = true));
    wire[0]!.answer('1');
    await settle();
    assert.equal(wire.length, 3, 'the changes that found two reads in flight get one more');
    wire[1]!.answer('2');
    await settle();
    assert.equal(done, false, 'a read is still under way');
    wire[2]!.answer('3');
    await settle();
    assert.equal(done, true);
    assert.deepEqual(applied, ['frontend:a=3']);
    assert.equal(rereads.pending(['frontend:a']), undefined, 'nothing under way any more');
  });

  it('a failed read is reported and does not hold the key', async () => {
    const wire: ((err: Error) => void)[] = [];
    const errors: string[] = [];
    const rereads = new KeyRereads(
      () => new Promise((_, reject) => wire.push(reject)),
      (key, err) => errors.push(`${key}: ${err.message}`),
      () => {},
    );
    rereads.changed('dead:a');
    wire[0]!(new Error('connection lost'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(errors, ['dead:a: connection lost']);
    assert.equal(rereads.size, 0);
  });
});
