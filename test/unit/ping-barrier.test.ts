import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PingBarrier } from '../../adapters/redis/barrier.js';

/** A controllable PING: each call is recorded and answered when the test says so. */
function fakePing() {
  const calls: (() => void)[] = [];
  const ping = () => new Promise<void>((resolve) => calls.push(resolve));
  return { ping, calls };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PingBarrier', () => {
  it('a request with no PING on the wire sends one at once; later requests share the next one', async () => {
    const { ping, calls } = fakePing();
    const barrier = new PingBarrier(ping, 1000);
    const released: number[] = [];
    barrier.then(() => released.push(1));
    assert.equal(calls.length, 1, 'sent synchronously, no extra event-loop turn');
    barrier.then(() => released.push(2));
    barrier.then(() => released.push(3));
    await turn();
    assert.equal(calls.length, 1, 'at most one PING in flight');
    calls[0]!();
    await turn();
    assert.deepEqual(released, [1]);
    assert.equal(calls.length, 2, 'requests 2 and 3 share the second PING');
    calls[1]!();
    await turn();
    assert.deepEqual(released, [1, 2, 3]);
  });

  it('a request arriving while a PING is on the wire waits for the next PING, sent when the first returns', async () => {
    const { ping, calls } = fakePing();
    const barrier = new PingBarrier(ping, 1000);
    const released: string[] = [];
    barrier.then(() => released.push('early'));
    await turn();
    barrier.then(() => released.push('late'));
    await turn();
    assert.equal(calls.length, 1, 'at most one PING in flight');
    calls[0]!();
    await turn();
    await turn();
    assert.deepEqual(released, ['early'], 'the late request must not ride on a PING sent before it arrived');
    assert.equal(calls.length, 2);
    calls[1]!();
    await turn();
    assert.deepEqual(released, ['early', 'late']);
  });

  it('a PING that is never answered releases its waiters once the timeout has passed, not before', async () => {
    const { ping } = fakePing();
    let now = 1_000;
    let tick: (() => void) | null = null;
    const barrier = new PingBarrier(ping, 30, { now: () => now, every: (fn) => void (tick = fn) });
    const released: string[] = [];
    barrier.then(() => released.push('waiter'));
    assert.ok(tick !== null, 'the watchdog runs while a PING is on the wire');
    now += 29;
    tick!();
    assert.deepEqual(released, [], 'not before the timeout');
    now += 1;
    tick!();
    assert.deepEqual(released, ['waiter']);
    barrier.then(() => released.push('next'));
    now += 30;
    tick!();
    assert.deepEqual(released, ['waiter', 'next'], 'the next PING is watched by the same timer');
  });
});
