// SPEC §1: read-your-writes when changes to one key come faster than the proxy
// can re-read it. Switchyard reaches Redis through a relay that delays the
// replies on its data connection by 40 ms but not the notifications, so
// notifications of later changes arrive while re-reads (made before those
// changes) are in flight; the request sent after the last write must see it.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { echoName, startProxy, type Proxy } from '../helpers/redis-proxy.js';

const DELAY_MS = 40;

/** What crossed the relay, in order: a chunk Switchyard sent, or a reply chunk handed on to it (after the delay). */
interface Crossing {
  dir: 'request' | 'reply';
  text: string;
}

/**
 * A TCP relay to `port` that holds server-to-client chunks for `delayMs`
 * (order kept), except on the notification connection (the one that sends
 * PSUBSCRIBE), which is relayed at once from then on. Every request chunk,
 * and every reply chunk when it is handed on, is logged in `log`.
 */
async function delayingRelay(port: number, delayMs: number, log: Crossing[]): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let feed = false;
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('PSUBSCRIBE')) feed = true;
      log.push({ dir: 'request', text: chunk.toString('latin1') });
      upstream.write(chunk);
    });
    // Each chunk leaves `delayMs` after it came (not after the one before it), in order.
    const held: { due: number; chunk: Buffer }[] = [];
    const hand = (chunk: Buffer): void => {
      log.push({ dir: 'reply', text: chunk.toString('latin1') });
      if (client.writable) client.write(chunk);
    };
    const release = (): void => {
      while (held.length > 0 && held[0]!.due <= performance.now()) hand(held.shift()!.chunk);
      if (held.length > 0) setTimeout(release, held[0]!.due - performance.now());
    };
    upstream.on('data', (chunk: Buffer) => {
      if (feed && held.length === 0) return void hand(chunk);
      held.push({ due: performance.now() + (feed ? 0 : delayMs), chunk });
      if (held.length === 1) setTimeout(release, feed ? 0 : delayMs);
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

describe('re-reads of a key that keeps changing', () => {
  let redis: RedisServer;
  let proxy: Proxy;
  let a: Backend;
  let b: Backend;
  const log: Crossing[] = [];

  before(async () => {
    redis = await startRedis();
    const relay = await delayingRelay(redis.port, DELAY_MS, log);
    proxy = await startProxy({ driver: `redis://127.0.0.1:${relay}` });
    a = await startHttpBackend({ name: 'A' });
    b = await startHttpBackend({ name: 'B' });
  });

  after(async () => {
    await redis.stop();
  });

  test('writes 3 ms apart, each re-read taking 40 ms or more: the request after the last write sees it', async () => {
    const key = 'frontend:busy.test';
    await redis.cmd('RPUSH', key, 'busy', a.url);
    assert.equal(echoName(await proxy.get('busy.test')), 'A');
    for (let round = 0; round < 4; round++) {
      const count = 12 + (round % 2); // ends on B, then on A, ...
      let last = a;
      for (let i = 0; i < count; i++) {
        last = i % 2 === 0 ? b : a;
        await redis.cmd('LSET', key, 1, last.url);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      assert.equal(echoName(await proxy.get('busy.test')), last.name, `round ${round}`);
    }
  });

  test('a change announced while its key is being re-read gets its own read at once, not after the first answer', async () => {
    const key = 'frontend:pipelined.test';
    await redis.cmd('RPUSH', key, 'pipelined', a.url);
    assert.equal(echoName(await proxy.get('pipelined.test')), 'A');
    log.length = 0;
    await redis.cmd('LSET', key, 1, b.url);
    // Once the first re-read is on the wire (waiting DELAY_MS for its answer), a second change.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await redis.cmd('LSET', key, 1, a.url);
    assert.equal(echoName(await proxy.get('pipelined.test')), 'A');
    const reads = log.flatMap((c, at) => (c.dir === 'request' && c.text.includes('LRANGE') && c.text.includes(key) ? [at] : []));
    assert.equal(reads.length, 2, 'one re-read per change');
    // The list's id is in its answer only: the first answer handed on to Switchyard.
    const firstAnswer = log.findIndex((c, at) => at > reads[0]! && c.dir === 'reply' && c.text.includes('$9\r\npipelined'));
    assert.ok(firstAnswer !== -1, 'the first read was answered');
    assert.ok(reads[1]! < firstAnswer, 'the second read went out before the first was answered, not after');
  });
});
