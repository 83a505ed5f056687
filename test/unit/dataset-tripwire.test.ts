import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { KeySpace } from '../../adapters/redis/keys.js';
import { Resync, type ResyncSteps } from '../../adapters/redis/resync.js';
import type { Snapshot } from '../../adapters/redis/snapshot.js';
import { DatasetTripwire } from '../../adapters/redis/tripwire.js';
import type { Reply, WireClient } from '../../adapters/redis/wire.js';
import { logger } from '../../src/log.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Resyncs whose snapshot reads the test finishes by hand; `applied` lists the numbers of the resyncs applied. */
function resyncs() {
  const reads: (() => void)[] = [];
  const applied: number[] = [];
  let following = 0;
  const steps: ResyncSteps = {
    ready: () => true,
    follow: async (generation) => void (following = generation),
    read: () => {
      const generation = following;
      let finish!: () => void;
      let abort!: () => void;
      const done = new Promise<Snapshot>((resolve, reject) => {
        finish = () => resolve({ generation } as unknown as Snapshot); // the number read, in place of keys
        abort = () => reject(new Error('aborted'));
      });
      reads.push(() => finish());
      return { done, abort: () => abort() };
    },
    apply: (snapshot) => void applied.push((snapshot as unknown as { generation: number }).generation),
    failed: () => {},
  };
  return { resync: new Resync(steps), reads, applied };
}

describe('Resync.after', () => {
  it('starts a resync when none is under way, and resolves once a later one applied', async () => {
    const { resync, reads, applied } = resyncs();
    let done = false;
    void resync.after(0).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(reads.length, 1, 'one resync started');
    assert.equal(done, false);
    reads[0]!();
    await settle();
    assert.deepEqual(applied, [1]);
    assert.equal(done, true);
    resync.stop();
  });

  it('many callers for one cause share one resync', async () => {
    const { resync, reads } = resyncs();
    const waits = Array.from({ length: 10 }, () => resync.after(0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(reads.length, 1);
    reads[0]!();
    await Promise.all(waits);
    resync.stop();
  });

  it('a change found after resync 1 armed is not satisfied by resync 1: resync 2 supersedes it', async () => {
    const { resync, reads, applied } = resyncs();
    void resync.after(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    let done = false;
    void resync.after(1).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(reads.length, 2, 'resync 2 started');
    reads[0]!(); // resync 1's read, superseded: never applied
    await settle();
    assert.equal(done, false);
    reads[1]!();
    await settle();
    assert.deepEqual(applied, [2]);
    assert.equal(done, true);
    resync.stop();
  });

  it('a resync numbered above is already under way: no other starts', async () => {
    const { resync, reads } = resyncs();
    void resync.after(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const wait = resync.after(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(reads.length, 1);
    reads[0]!();
    await wait;
    assert.equal(await Promise.race([resync.after(0).then(() => 'at once'), settle().then(() => 'waits')]), 'at once', 'already applied');
    resync.stop();
  });
});

/** A feed connection answering from a script: `replies[command]` is called with the arguments. */
function fakeFeed(replies: Record<string, (args: readonly string[]) => Reply>) {
  const sent: string[] = [];
  const conn = Object.assign(new EventEmitter(), {
    isReady: true,
    sent,
    send: async (args: readonly string[]) => {
      sent.push(args.join(' '));
      const reply = replies[args[0]!]?.(args);
      if (reply instanceof Error) throw reply;
      return reply ?? 'OK';
    },
    ping: async () => {
      sent.push('PING');
      return 'PONG';
    },
  });
  return conn as unknown as WireClient & { sent: string[] };
}

describe('DatasetTripwire', () => {
  const log = logger('test');
  const info = (flags: string) => `id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name= age=1 idle=0 flags=${flags} db=0 sub=0 psub=2 multi=-1`;

  it('creates the marker where it is written, watches it, and reports a dirty connection with the resync that armed it', async () => {
    let exists = 0;
    let flags = 'P';
    const writes: string[] = [];
    const trips: number[] = [];
    const feed = fakeFeed({ EXISTS: () => exists, CLIENT: () => info(flags) });
    const tripwire = new DatasetTripwire(new KeySpace('pfx:'), async (args) => (writes.push(args.join(' ')), (exists = 1), 'OK'), (by) => trips.push(by), log);
    await tripwire.arm(feed, 3);
    assert.match(writes[0]!, /^SET pfx:switchyard:marker .+ NX$/);
    assert.deepEqual(feed.sent.slice(-4), ['UNWATCH', 'WATCH pfx:switchyard:marker', 'EXISTS pfx:switchyard:marker', 'CLIENT INFO']);
    assert.equal(tripwire.watching, true);
    await tripwire.probe(feed);
    assert.deepEqual(trips, [], 'flags=P: nothing replaced');
    flags = 'Pd';
    await tripwire.probe(feed);
    assert.deepEqual(trips, [3], 'flags=Pd: reported before the probe resolves');
  });

  it('an existing marker is not written again', async () => {
    const writes: string[] = [];
    const feed = fakeFeed({ EXISTS: () => 1, CLIENT: () => info('N') });
    const tripwire = new DatasetTripwire(new KeySpace(''), async (args) => (writes.push(args.join(' ')), 'OK'), () => {}, log);
    await tripwire.arm(feed, 1);
    assert.deepEqual(writes, []);
  });

  it('CLIENT INFO refused (Redis before 6.2, an ACL): not armed, probes are PINGs, a tracking flush message counts', async () => {
    const feed = fakeFeed({ EXISTS: () => 1, CLIENT: () => new Error("ERR unknown subcommand 'INFO'") });
    const tripwire = new DatasetTripwire(new KeySpace(''), async () => 'OK', () => {}, log);
    await tripwire.arm(feed, 1);
    assert.equal(tripwire.watching, false);
    await tripwire.probe(feed);
    assert.equal(feed.sent.at(-1), 'PING');
  });

  it('the feed connection reconnects: its WATCH is gone, probes are PINGs until the next arm', async () => {
    const feed = fakeFeed({ EXISTS: () => 1, CLIENT: () => info('P') });
    const tripwire = new DatasetTripwire(new KeySpace(''), async () => 'OK', () => {}, log);
    await tripwire.arm(feed, 1);
    feed.emit('reconnecting');
    assert.equal(tripwire.watching, false);
    await tripwire.probe(feed);
    assert.equal(feed.sent.at(-1), 'PING');
  });
});
