import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrontendExpiries, type ExpiryClock } from '../../adapters/redis/expiries.js';

/** A clock the test moves by hand; its one timer fires when the time reaches it. */
function harness() {
  let now = 1_000;
  let timer: { at: number; fire: () => void } | null = null;
  const clock: ExpiryClock = {
    now: () => now,
    after: (fire, ms) => {
      const mine = { at: now + ms, fire };
      timer = mine;
      return () => {
        if (timer === mine) timer = null;
      };
    },
  };
  const due: string[] = [];
  const expiries = new FrontendExpiries((key) => due.push(key), clock);
  const advance = (ms: number) => {
    now += ms;
    const t = timer;
    if (t !== null && t.at <= now) {
      timer = null;
      t.fire();
    }
  };
  return { expiries, due, advance, timerAt: () => timer?.at ?? null, setNow: (t: number) => (now = t) };
}

describe('FrontendExpiries', () => {
  it('re-reads each key at its deadline, earliest first, with one timer', () => {
    const { expiries, due, advance, timerAt } = harness();
    expiries.set('frontend:b', 1_300);
    expiries.set('frontend:a', 1_100);
    expiries.set('frontend:c', 1_200);
    assert.equal(timerAt(), 1_100);
    advance(100);
    assert.deepEqual(due, ['frontend:a']);
    assert.equal(timerAt(), 1_200);
    advance(300);
    assert.deepEqual(due, ['frontend:a', 'frontend:c', 'frontend:b']);
    assert.equal(timerAt(), null);
  });

  it('a request after a deadline starts the re-read itself, before the timer fires', () => {
    const { expiries, due, setNow } = harness();
    expiries.set('frontend:a', 1_050);
    setNow(1_050);
    expiries.check();
    assert.deepEqual(due, ['frontend:a']);
    expiries.check();
    assert.deepEqual(due, ['frontend:a'], 'once: the re-read sets a new deadline if the key is still there');
  });

  it('a new deadline or PERSIST replaces the old one', () => {
    const { expiries, due, advance } = harness();
    expiries.set('frontend:a', 1_100);
    expiries.set('frontend:a', 1_500);
    expiries.set('frontend:b', 1_100);
    expiries.set('frontend:b', null);
    advance(200);
    assert.deepEqual(due, []);
    advance(300);
    assert.deepEqual(due, ['frontend:a']);
  });

  it('a snapshot replaces every deadline', () => {
    const { expiries, due, advance } = harness();
    expiries.set('frontend:gone', 1_100);
    expiries.replaceAll([['frontend:new', 1_200]]);
    advance(500);
    assert.deepEqual(due, ['frontend:new']);
  });

  it('checking with no deadline costs nothing and does nothing', () => {
    const { expiries, due } = harness();
    for (let i = 0; i < 3; i++) expiries.check();
    assert.deepEqual(due, []);
  });
});
