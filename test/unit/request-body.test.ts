// The fast front end's request body: held until its consumer listens,
// delivered after the listener's caller returns, held back by pause(), and
// the client's socket stopped past the high-water mark.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FastBody } from '../../src/proxy/front/request-body.js';

const tick = () => new Promise((r) => setImmediate(r));

function reader() {
  const calls: string[] = [];
  return { calls, stopReading: () => void calls.push('stop'), startReading: () => void calls.push('start') };
}

describe('FastBody', () => {
  test('bytes before a listener are held, then delivered in order, then end; take() stops at the body length', async () => {
    const body = new FastBody(10, reader());
    assert.equal(body.take(Buffer.from('01234')), 5);
    assert.equal(body.take(Buffer.from('56789NEXT')), 5, 'the rest is the next request');
    assert.equal(body.complete, true);
    const got: string[] = [];
    let ended = false;
    body.on('data', (c: Buffer) => got.push(c.toString()));
    body.on('end', () => (ended = true));
    assert.deepEqual(got, [], 'not within on()');
    await tick();
    assert.deepEqual(got, ['01234', '56789']);
    assert.equal(ended, true);
    assert.equal(body.didRead, true);
  });

  test('pause() holds what arrives; resume() delivers it', async () => {
    const body = new FastBody(6, reader());
    const got: string[] = [];
    body.on('data', (c: Buffer) => got.push(c.toString()));
    await tick();
    body.take(Buffer.from('ab'));
    assert.deepEqual(got, ['ab'], 'flowing: delivered at once');
    body.pause();
    body.take(Buffer.from('cd'));
    assert.equal(body.readableLength, 2);
    assert.deepEqual(got, ['ab']);
    body.resume();
    await tick();
    assert.deepEqual(got, ['ab', 'cd']);
    assert.equal(body.readableLength, 0);
  });

  test('past 64 KiB held, the socket stops being read, and is read again once the consumer took it', async () => {
    const r = reader();
    const body = new FastBody(200 * 1024, r);
    body.take(Buffer.alloc(40 * 1024));
    assert.deepEqual(r.calls, []);
    body.take(Buffer.alloc(40 * 1024));
    assert.deepEqual(r.calls, ['stop']);
    body.on('data', () => {});
    await tick();
    assert.deepEqual(r.calls, ['stop', 'start']);
  });

  test('discard() drops what is held and what comes, and reads on', () => {
    const r = reader();
    const body = new FastBody(100 * 1024, r);
    body.take(Buffer.alloc(70 * 1024));
    body.discard();
    assert.deepEqual(r.calls, ['stop', 'start']);
    assert.equal(body.readableLength, 0);
    assert.equal(body.take(Buffer.alloc(40 * 1024)), 30 * 1024);
    assert.equal(body.complete, true);
  });

  test('takeWhole(): the whole body once all of it is here and none was taken, then nothing more is delivered', async () => {
    const body = new FastBody(6, reader());
    body.take(Buffer.from('abc'));
    assert.equal(body.takeWhole(), null, 'not all here yet');
    body.take(Buffer.from('def'));
    assert.equal(body.takeWhole()?.toString(), 'abcdef');
    assert.equal(body.didRead, true, 'a retry would lose it');
    let events = 0;
    body.on('data', () => events++);
    body.on('end', () => events++);
    await tick();
    assert.equal(events, 0);
    const streamed = new FastBody(2, reader());
    streamed.on('data', () => {});
    await tick();
    streamed.take(Buffer.from('xy'));
    assert.equal(streamed.takeWhole(), null, 'already delivered');
  });

  test('a second consumer while one listens is a programming error', () => {
    const body = new FastBody(1, reader());
    body.on('data', () => {});
    assert.throws(() => body.on('data', () => {}));
  });
});
