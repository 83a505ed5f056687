// SPEC §1-2: read-your-writes. A request sent after a redis-cli write has
// returned sees that write, exactly as Hipache (which queried Redis on every
// request) guaranteed. No polling here on purpose: the *very next* request.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { json } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('live reconfiguration through Redis', () => {
  let stack: Stack;
  let a: Backend;
  let b: Backend;
  let seq = 0;
  const host = (): string => `live-${++seq}.test`;

  before(async () => {
    stack = await startStack();
    a = await startHttpBackend({ name: 'A' });
    b = await startHttpBackend({ name: 'B' });
  });

  async function names(h: string, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await stack.get(h);
      assert.equal(res.status, 200, `request ${i} to ${h}: ${res.status} ${res.text.slice(0, 200)}`);
      out.push(json<{ name: string }>(res).name);
    }
    return out;
  }

  test('a host unknown a moment before is routed by the very next request after RPUSH', async () => {
    const h = host();
    assert.equal((await stack.get(h)).status, 400);
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'new-site', a.url);
    assert.deepEqual(await names(h, 1), ['A']);
  });

  test('RPUSH of a backend onto an identifier-only list turns 502 into 200', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site');
    assert.equal((await stack.get(h)).status, 502);
    await stack.redis.cmd('RPUSH', `frontend:${h}`, b.url);
    assert.deepEqual(await names(h, 1), ['B']);
  });

  test('RPUSH of a second backend is used at once', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url);
    assert.deepEqual(await names(h, 1), ['A']);
    await stack.redis.cmd('RPUSH', `frontend:${h}`, b.url);
    // Random choice: B must show up among 40 requests (odds of missing it: 2^-40).
    assert.ok((await names(h, 40)).includes('B'));
  });

  test('LSET replacing the only backend switches the very next request', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url);
    assert.deepEqual(await names(h, 1), ['A']);
    await stack.redis.cmd('LSET', `frontend:${h}`, 1, b.url);
    assert.deepEqual(await names(h, 1), ['B']);
  });

  test('LREM of a backend stops all traffic to it from the very next request', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url, b.url);
    await stack.redis.cmd('LREM', `frontend:${h}`, 0, a.url);
    assert.deepEqual(await names(h, 20), Array(20).fill('B'));
  });

  test('DEL of a frontend makes the very next request 400', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url);
    assert.deepEqual(await names(h, 1), ['A']);
    await stack.redis.cmd('DEL', `frontend:${h}`);
    assert.equal((await stack.get(h)).status, 400);
  });

  test('LSET of the identifier changes the vhost shown in X-Debug at once', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'before', a.url);
    assert.equal((await stack.get(h, { headers: { 'x-debug': '1' } })).headers['x-debug-vhost'], 'before');
    await stack.redis.cmd('LSET', `frontend:${h}`, 0, 'after');
    assert.equal((await stack.get(h, { headers: { 'x-debug': '1' } })).headers['x-debug-vhost'], 'after');
  });

  test('a burst of writes: each request sees the latest list', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url);
    for (let i = 0; i < 10; i++) {
      const target = i % 2 === 0 ? b : a;
      await stack.redis.cmd('LSET', `frontend:${h}`, 1, target.url);
      assert.deepEqual(await names(h, 1), [target.name], `after write ${i}`);
    }
  });

  test('writes to one key faster than it can be re-read: the next request sees the last one', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url);
    for (let round = 0; round < 6; round++) {
      // Pipelined in the even rounds (one burst of notifications), one by one in the odd ones
      // (notifications spaced by a round trip, arriving while the proxy's re-reads are in flight).
      const count = 30 + (round % 2);
      const targets = Array.from({ length: count }, (_, i) => (i % 2 === 0 ? b : a));
      if (round % 2 === 0) await Promise.all(targets.map((t) => stack.redis.cmd('LSET', `frontend:${h}`, 1, t.url)));
      else for (const t of targets) await stack.redis.cmd('LSET', `frontend:${h}`, 1, t.url);
      assert.deepEqual(await names(h, 1), [targets.at(-1)!.name], `round ${round}`);
    }
  });

  test('a backend listed twice gets about twice the traffic', async () => {
    const h = host();
    await stack.redis.cmd('RPUSH', `frontend:${h}`, 'site', a.url, a.url, b.url);
    const n = 300;
    const counts = { A: 0, B: 0 };
    for (let i = 0; i < n; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => stack.get(h)));
      for (const res of batch) counts[json<{ name: 'A' | 'B' }>(res).name] += 1;
    }
    // Expected A = 200 (sd ~8.2); bounds are ~5 sd wide so the test does not flake.
    assert.ok(counts.A >= 160 && counts.A <= 240, `A got ${counts.A}/${n}, B ${counts.B}`);
    assert.equal(counts.A + counts.B, n);
  });
});
