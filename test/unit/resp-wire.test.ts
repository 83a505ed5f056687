import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { encodeCommand, parseReply, RedisReplyError, type Reply } from '../../adapters/redis/resp.js';
import { MultiReplyError, WireClient, type Push } from '../../adapters/redis/wire.js';
import type { RedisEndpoint } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

/** Every complete value in `bytes`, fed in pieces cut at `cuts`, as a client reading a socket would. */
function parseInPieces(bytes: Buffer, cuts: number[]): { value: Reply; push: boolean }[] {
  const out: { value: Reply; push: boolean }[] = [];
  let pending = Buffer.alloc(0);
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    pending = Buffer.concat([pending, bytes.subarray(from, to)]);
    from = to;
    let off = 0;
    for (;;) {
      const parsed = parseReply(pending, off);
      if (typeof parsed === 'symbol') break;
      out.push({ value: parsed.value, push: parsed.push });
      off = parsed.end;
    }
    pending = pending.subarray(off);
  }
  assert.equal(pending.length, 0, 'nothing left over');
  return out;
}

const MIXED = Buffer.from(
  '+OK\r\n' +
    ':-42\r\n' +
    '$4\r\nh\u00e9!\r\n' + // 3 characters, 4 bytes
    '$-1\r\n' +
    '*3\r\n$4\r\nsite\r\n$0\r\n\r\n*0\r\n' +
    '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n' +
    '>2\r\n$10\r\ninvalidate\r\n*1\r\n$14\r\nfrontend:a.com\r\n' +
    '%2\r\n$4\r\nname\r\n$3\r\nabc\r\n$3\r\nn\u00b0\r\n:1\r\n' +
    '~1\r\n$1\r\n0\r\n' +
    '_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n=7\r\ntxt:abc\r\n!5\r\nERR x\r\n' +
    '>2\r\n$10\r\ninvalidate\r\n_\r\n',
);

describe('RESP framing', () => {
  it('a reply cut at any byte parses the same as whole', () => {
    const whole = parseInPieces(MIXED, []);
    assert.equal(whole.length, 16);
    for (let cut = 1; cut < MIXED.length; cut++) {
      assert.deepEqual(parseInPieces(MIXED, [cut]), whole, `cut at byte ${cut}`);
    }
  });

  it('a stream delivered one byte at a time parses the same as whole', () => {
    const bytewise = parseInPieces(MIXED, Array.from({ length: MIXED.length - 1 }, (_, i) => i + 1));
    assert.deepEqual(bytewise, parseInPieces(MIXED, []));
  });

  it('decodes each type: RESP3 maps and sets flatten to arrays, errors are values, pushes are marked', () => {
    const values = parseInPieces(MIXED, []);
    assert.deepEqual(
      values.map((v) => v.value),
      [
        'OK',
        -42,
        'h\u00e9!',
        null,
        ['site', '', []],
        new RedisReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
        ['invalidate', ['frontend:a.com']],
        ['name', 'abc', 'n\u00b0', 1],
        ['0'],
        null,
        true,
        1.5,
        '12345678901234567890',
        'abc',
        new RedisReplyError('ERR x'),
        ['invalidate', null],
      ],
    );
    assert.deepEqual(
      values.flatMap((v, i) => (v.push ? [i] : [])),
      [6, 15],
    );
  });

  it('bytes that are not RESP throw', () => {
    assert.throws(() => parseReply(Buffer.from('hello\r\n'), 0), /not a RESP reply/);
  });
});

/**
 * A scripted Redis: answers each command it reads with `answer(args)`'s bytes,
 * written one byte per write (so every reply reaches the client split at every byte).
 */
async function fakeRedis(answer: (args: string[], socket: net.Socket) => string) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let writing = Promise.resolve(); // replies to one read go out whole before the next read's
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      let off = 0;
      const replies: string[] = [];
      for (;;) {
        const parsed = parseReply(pending, off);
        if (typeof parsed === 'symbol') break;
        off = parsed.end;
        replies.push(answer(parsed.value as string[], socket));
      }
      pending = pending.subarray(off);
      writing = writing.then(async () => {
        for (const byte of Buffer.from(replies.join(''))) {
          if (!socket.writable) return;
          socket.write(Buffer.of(byte));
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const endpoint: RedisEndpoint = { host: '127.0.0.1', port, db: 0, prefix: '', display: `redis://127.0.0.1:${port}` };
  return {
    endpoint,
    dropAll: () => sockets.forEach((s) => s.destroy()),
    close: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

describe('WireClient', () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((f) => f()));

  it('pipelined replies, split at every byte, reach their commands in order', async () => {
    const redis = await fakeRedis((args) => (args[0] === 'LRANGE' ? encodeCommand(['id', `http://${args[1]}`]) : '+PONG\r\n'));
    const client = new WireClient(redis.endpoint, quiet, { name: 'test' });
    cleanup.push(() => (client.destroy(), redis.close()));
    await client.connect();
    const replies = await Promise.all([client.send(['LRANGE', 'a', '0', '-1']), client.ping(), client.send(['LRANGE', 'b', '0', '-1'])]);
    assert.deepEqual(replies, [['id', 'http://a'], 'PONG', ['id', 'http://b']]);
  });

  it('pushes interleaved with replies go to onPush and do not take a reply slot', async () => {
    const push = '>2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nk:1\r\n';
    let pings = 0;
    const redis = await fakeRedis((args) => {
      if (args[0] === 'HELLO') return '%1\r\n$5\r\nproto\r\n:3\r\n';
      if (args[0] === 'PING') return pings++ === 0 ? '+PONG\r\n' : push + '+PONG\r\n' + push; // the first: the handshake's
      return '+OK\r\n';
    });
    const pushes: Push[] = [];
    const client = new WireClient(redis.endpoint, quiet, { name: 'test', resp3: true, onPush: (p) => pushes.push(p) });
    cleanup.push(() => (client.destroy(), redis.close()));
    await client.connect();
    assert.deepEqual(await Promise.all([client.ping(), client.send(['CLIENT', 'TRACKING', 'OFF'])]), ['PONG', 'OK']);
    assert.deepEqual(pushes, [
      ['invalidate', ['k:1']],
      ['invalidate', ['k:1']],
    ]);
  });

  it('an error reply rejects its own command only; a failed MULTI names the failed commands', async () => {
    const wrongType = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
    const redis = await fakeRedis((args) => {
      if (args[0] === 'GET') return wrongType;
      if (args[0] === 'EXEC') return `*2\r\n${wrongType}:-2\r\n`;
      return args[0] === 'PING' ? '+PONG\r\n' : args[0] === 'MULTI' ? '+OK\r\n' : '+QUEUED\r\n';
    });
    const client = new WireClient(redis.endpoint, quiet, { name: 'test' });
    cleanup.push(() => (client.destroy(), redis.close()));
    await client.connect();
    const [get, ping] = await Promise.allSettled([client.send(['GET', 'x']), client.ping()]);
    assert.equal(get.status, 'rejected');
    assert.match((get as PromiseRejectedResult).reason.message, /^WRONGTYPE/);
    assert.deepEqual(ping, { status: 'fulfilled', value: 'PONG' });
    await assert.rejects(client.multi([['SMEMBERS', 'x'], ['PTTL', 'x']]), (err: unknown) => {
      assert.ok(err instanceof MultiReplyError);
      assert.deepEqual(err.errorIndexes, [0]);
      return /^WRONGTYPE/.test(err.message);
    });
  });

  it('commands fail at once while disconnected (no offline queue), pending ones fail on loss, and it reconnects', async () => {
    let connections = 0;
    const redis = await fakeRedis((args, socket) => {
      if (args[0] === 'HOLD') return ''; // never answered
      if (args[0] === 'PING' && socket.remotePort !== undefined && !seen.has(socket)) {
        seen.add(socket);
        connections++;
      }
      return '+PONG\r\n';
    });
    const seen = new WeakSet<net.Socket>();
    const client = new WireClient(redis.endpoint, quiet, { name: 'test' });
    cleanup.push(() => (client.destroy(), redis.close()));
    await client.connect();
    const held = client.send(['HOLD']);
    const lost = new Promise((resolve) => client.once('reconnecting', resolve));
    redis.dropAll();
    await assert.rejects(held, /connection to redis lost/);
    await lost;
    assert.equal(client.isReady, false);
    await assert.rejects(client.ping(), /not ready/);
    await new Promise((resolve) => client.once('ready', resolve));
    assert.equal(await client.ping(), 'PONG');
    assert.equal(connections, 2);
    client.destroy();
    await assert.rejects(client.ping(), /closed/);
  });
});
