// The master's EventFeed (behind /events/stream) against stand-in workers:
// one poll shared by every listener, none once the last one leaves, resuming
// from a Last-Event-ID, and a resync when the followed worker changes or
// events were lost between two polls.
import assert from 'node:assert/strict';
import type { Worker } from 'node:cluster';
import { describe, it } from 'node:test';
import { EventFeed, parseEventId, type FeedMessage } from '../../app/admin/event-feed.js';
import type { QueryAnswer, WorkerQuery } from '../../app/workers/messages.js';
import { delay, waitFor } from '../helpers/wait.js';

const POLL_MS = 10;

/** A worker as the feed sees it: an id, a pid and an event history it answers `events` queries from. */
class StandIn {
  readonly history: { seq: number; type: string }[] = [];
  readonly handle: Worker;
  constructor(id: number, pid: number) {
    this.handle = { id, process: { pid } } as unknown as Worker;
  }
  apply(count: number): void {
    for (let i = 0; i < count; i++) this.history.push({ seq: this.history.length + 1, type: 'frontend-set' });
  }
  /** Keeps only the last `n` events, as a worker's bounded history does. */
  forget(keep: number): void {
    this.history.splice(0, this.history.length - keep);
  }
}

function instance(initial: StandIn) {
  const state = { serving: [initial], asks: 0 };
  const queries = {
    ask: async (worker: Worker, query: WorkerQuery): Promise<QueryAnswer> => {
      state.asks++;
      const standIn = state.serving.find((w) => w.handle === worker)!;
      const since = query.kind === 'events' ? query.since : 0;
      return { status: 200, body: { events: standIn.history.filter((e) => e.seq > since) } };
    },
  };
  return { state, feed: new EventFeed({ serving: () => state.serving.map((w) => w.handle), queries }, POLL_MS) };
}

function collect(): { messages: FeedMessage[]; listener: (m: FeedMessage) => void; seqs(): number[] } {
  const messages: FeedMessage[] = [];
  return { messages, listener: (m) => messages.push(m), seqs: () => messages.flatMap((m) => (m.kind === 'event' ? [m.event.seq] : [])) };
}

describe('EventFeed', () => {
  it('greets a new listener with the recent events, then delivers each new one once, numbered <pid>:<seq>', async () => {
    const worker = new StandIn(1, 4242);
    worker.apply(3);
    const { feed } = instance(worker);
    const a = collect();
    const stop = feed.subscribe(a.listener, null);
    await waitFor(() => a.seqs().length === 3, { message: 'the recent events' });
    worker.apply(2);
    await waitFor(() => a.seqs().length === 5, { message: 'the new events' });
    assert.deepEqual(a.seqs(), [1, 2, 3, 4, 5]);
    assert.deepEqual(a.messages.map((m) => m.kind === 'event' && m.id), ['4242:1', '4242:2', '4242:3', '4242:4', '4242:5']);
    stop();
  });

  it('shares one poll between its listeners, and stops polling when the last one leaves', async () => {
    const worker = new StandIn(1, 10);
    const { feed, state } = instance(worker);
    const stops = [collect(), collect(), collect()].map((c) => feed.subscribe(c.listener, null));
    await delay(POLL_MS * 20);
    // One ask per poll whatever the number of listeners: about 20 here, never 60.
    assert.ok(state.asks <= 25, `${state.asks} asks in 20 poll intervals for 3 listeners`);
    for (const stop of stops) stop();
    assert.equal(feed.listeners, 0);
    await delay(POLL_MS * 3); // a poll in flight may still be answered
    const after = state.asks;
    await delay(POLL_MS * 10);
    assert.equal(state.asks, after, 'no poll while nobody listens');
  });

  it('resumes a listener from its Last-Event-ID: only what followed it', async () => {
    const worker = new StandIn(1, 77);
    worker.apply(6);
    const { feed } = instance(worker);
    const first = collect();
    const stopFirst = feed.subscribe(first.listener, null);
    await waitFor(() => first.seqs().length === 6, { message: 'the first listener greeted' });
    const resumed = collect();
    const stop = feed.subscribe(resumed.listener, '77:4');
    assert.deepEqual(resumed.seqs(), [5, 6], 'greeted at once, from the feed it shares');
    assert.deepEqual(resumed.messages.filter((m) => m.kind === 'resync'), []);
    stop();
    stopFirst();
  });

  it('tells a listener resuming from another worker\'s numbering, or from before the kept events, to resync', async () => {
    const worker = new StandIn(1, 77);
    worker.apply(300);
    const { feed } = instance(worker);
    const other = collect();
    const stopOther = feed.subscribe(other.listener, '55:12');
    await waitFor(() => other.messages.length > 0, { message: 'an answer to the stranger' });
    assert.deepEqual(other.messages, [{ kind: 'resync', reason: 'worker-changed', position: { worker: 1, pid: 77, seq: 300 } }]);
    const old = collect();
    const stopOld = feed.subscribe(old.listener, '77:3'); // the feed keeps the last 200 only
    assert.deepEqual(old.messages, [{ kind: 'resync', reason: 'missed-events', position: { worker: 1, pid: 77, seq: 300 } }]);
    stopOther();
    stopOld();
  });

  it('when the oldest serving worker changes, sends a resync and follows the new one\'s numbering', async () => {
    const first = new StandIn(1, 100);
    first.apply(5);
    const { feed, state } = instance(first);
    const c = collect();
    const stop = feed.subscribe(c.listener, null);
    await waitFor(() => c.seqs().length === 5, { message: 'the first worker\'s events' });
    const second = new StandIn(2, 200);
    second.apply(2);
    state.serving = [second];
    await waitFor(() => c.messages.some((m) => m.kind === 'resync'), { message: 'a resync' });
    assert.deepEqual(c.messages.at(-1), { kind: 'resync', reason: 'worker-changed', position: { worker: 2, pid: 200, seq: 2 } });
    second.apply(1);
    await waitFor(() => c.messages.at(-1)?.kind === 'event', { message: 'the new worker\'s next event' });
    assert.equal((c.messages.at(-1) as { id: string }).id, '200:3');
    stop();
  });

  it('sends a resync when more events than the worker keeps came between two polls', async () => {
    const worker = new StandIn(1, 9);
    worker.apply(2);
    const { feed } = instance(worker);
    const c = collect();
    const stop = feed.subscribe(c.listener, null);
    await waitFor(() => c.seqs().length === 2, { message: 'greeted' });
    worker.apply(50);
    worker.forget(10); // 3..42 are lost
    await waitFor(() => c.seqs().at(-1) === 52, { message: 'the kept events' });
    const resync = c.messages.find((m) => m.kind === 'resync');
    assert.deepEqual(resync, { kind: 'resync', reason: 'missed-events', position: { worker: 1, pid: 9, seq: 52 } });
    assert.deepEqual(c.seqs().slice(2), [43, 44, 45, 46, 47, 48, 49, 50, 51, 52]);
    stop();
  });

  it('reads event ids as <pid>:<seq> only', () => {
    assert.deepEqual(parseEventId('12:34'), { pid: 12, seq: 34 });
    for (const id of [null, '', '34', '12:', 'a:1', '1:2:3']) assert.equal(parseEventId(id), null, String(id));
  });
});
