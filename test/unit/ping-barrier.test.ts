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

  it('a PING that is never answered releases its waiters after the timeout', async () => {
    const { ping } = fakePing();
    const barrier = new PingBarrier(ping, 30);
    // The barrier's watchdog timer is unref'd (it must not keep a stopping proxy alive): hold the loop open here.
    const hold = setTimeout(() => {}, 5000);
    const released = await new Promise<number>((resolve) => {
      const started = Date.now();
      barrier.then(() => resolve(Date.now() - started));
    });
    clearTimeout(hold);
    assert.ok(released >= 25 && released < 1000, `released after ${released} ms`);
  });
});
