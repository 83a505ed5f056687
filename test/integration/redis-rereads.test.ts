// SPEC §1: read-your-writes when changes to one key come faster than the proxy
// can re-read it. Switchyard reaches Redis through a relay that delays the
// replies on its data connection by 15 ms but not the notifications, so
// notifications of later changes arrive while re-reads (made before those
// changes) are in flight; the request sent after the last write must see it.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { onCleanup } from '../helpers/cleanup.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { echoName, startProxy, type Proxy } from '../helpers/redis-proxy.js';

const DELAY_MS = 15;

/**
 * A TCP relay to `port` that holds server-to-client chunks for `delayMs`
 * (order kept), except on the notification connection (the one that sends
 * PSUBSCRIBE), which is relayed at once from then on.
 */
async function delayingRelay(port: number, delayMs: number): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let feed = false;
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('PSUBSCRIBE')) feed = true;
      upstream.write(chunk);
    });
    let queued = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      const wait = feed ? 0 : delayMs;
      queued = queued.then(() => new Promise((resolve) => setTimeout(resolve, wait))).then(() => {
        if (client.writable) client.write(chunk);
      });
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

  before(async () => {
    redis = await startRedis();
    const relay = await delayingRelay(redis.port, DELAY_MS);
    proxy = await startProxy({ driver: `redis://127.0.0.1:${relay}` });
    a = await startHttpBackend({ name: 'A' });
    b = await startHttpBackend({ name: 'B' });
  });

  after(async () => {
    await redis.stop();
  });

  test('writes 3 ms apart, each re-read taking 15 ms or more: the request after the last write sees it', async () => {
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
});
