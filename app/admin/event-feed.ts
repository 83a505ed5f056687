// The configuration events as they are applied, for /events/stream. The
// master has no table of its own: while anyone listens, it follows the
// oldest serving worker's event history (the `events` query over IPC, from
// the last sequence seen), one poll shared by every listener. Nothing of it
// runs while nobody listens.

import type { Worker } from 'node:cluster';
import { logger } from '../../src/log.js';
import type { WorkerQueries } from '../workers/queries.js';

const log = logger('admin');

/** How often the followed worker is asked for new events while someone listens. */
export const FEED_POLL_MS = 400;
/** Events kept to greet a new listener and resume a reconnecting one. */
const RECENT = 200;

/** An event as GET /events gives it. */
export interface FeedEvent {
  seq: number;
  [field: string]: unknown;
}

/** Where the feed stands: whose history it follows (by pid, unique across master restarts too) and its last sequence. */
export interface FeedPosition {
  worker: number;
  pid: number;
  seq: number;
}

export type FeedMessage =
  /** `id` is `<pid>:<seq>`: a reconnecting listener sends it back as Last-Event-ID. */
  | { kind: 'event'; id: string; event: FeedEvent }
  /** The listener's position is lost (another worker is followed, or events were missed): re-read /status. */
  | { kind: 'resync'; reason: 'worker-changed' | 'missed-events'; position: FeedPosition };

export type Listener = (message: FeedMessage) => void;

interface Followed extends FeedPosition {
  handle: Worker;
}

/** What the feed reads of the instance (app/admin/server.ts Instance). */
export interface FeedInstance {
  serving(): Worker[];
  readonly queries: Pick<WorkerQueries, 'ask'>;
}

export class EventFeed {
  readonly #listeners = new Map<Listener, string | null>();
  #followed: Followed | null = null;
  #recent: FeedEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Bumped when the last listener leaves: a poll answered after that is dropped. */
  #run = 0;

  constructor(
    private readonly instance: FeedInstance,
    private readonly pollMs = FEED_POLL_MS,
  ) {}

  /**
   * Delivers what follows `lastEventId` (or the recent events, without one),
   * then every new event, until the returned function is called.
   */
  subscribe(listener: Listener, lastEventId: string | null): () => void {
    const first = this.#listeners.size === 0;
    this.#listeners.set(listener, lastEventId);
    if (this.#followed !== null) this.#greet(listener, lastEventId);
    if (first) void this.#poll(this.#run);
    return () => this.#unsubscribe(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  #unsubscribe(listener: Listener): void {
    if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
    clearTimeout(this.#timer);
    this.#run++;
    this.#followed = null;
    this.#recent = [];
  }

  async #poll(run: number): Promise<void> {
    try {
      await this.#step(run);
    } catch (err) {
      log.debug('event feed: the serving worker did not answer', { error: (err as Error).message });
    }
    if (run === this.#run && this.#listeners.size > 0) this.#timer = setTimeout(() => void this.#poll(run), this.pollMs);
  }

  async #step(run: number): Promise<void> {
    const worker = this.instance.serving()[0];
    if (worker === undefined) return;
    const followed = this.#followed;
    if (followed?.handle !== worker) return this.#follow(run, worker, followed !== null);
    const events = await this.#events(worker, followed.seq);
    if (this.#followed !== followed) return;
    // The worker keeps a bounded history: a burst larger than it between two polls is lost to us.
    if (events.length > 0 && events[0]!.seq > followed.seq + 1) this.#broadcast({ kind: 'resync', reason: 'missed-events', position: this.#advance(followed, events) });
    else this.#advance(followed, events);
    for (const event of events) this.#broadcast(this.#message(followed, event));
  }

  /** Starts following `worker`: its recent history greets the listeners waiting, a resync tells the others. */
  async #follow(run: number, worker: Worker, switched: boolean): Promise<void> {
    const events = await this.#events(worker, 0);
    if (run !== this.#run || this.instance.serving()[0] !== worker) return;
    const followed: Followed = { handle: worker, worker: worker.id, pid: worker.process.pid ?? 0, seq: 0 };
    this.#followed = followed;
    this.#recent = [];
    this.#advance(followed, events);
    if (switched) return this.#broadcast({ kind: 'resync', reason: 'worker-changed', position: this.#position() });
    for (const [listener, lastEventId] of this.#listeners) this.#greet(listener, lastEventId);
  }

  /** A new listener: what it missed since `lastEventId` if that can be told, else a resync. */
  #greet(listener: Listener, lastEventId: string | null): void {
    const followed = this.#followed!;
    const last = parseEventId(lastEventId);
    if (last === null) return this.#recent.forEach((event) => listener(this.#message(followed, event)));
    const oldest = this.#recent[0]?.seq ?? followed.seq + 1;
    const sameHistory = last.pid === followed.pid && last.seq <= followed.seq;
    if (!sameHistory || last.seq + 1 < oldest) {
      return listener({ kind: 'resync', reason: sameHistory ? 'missed-events' : 'worker-changed', position: this.#position() });
    }
    for (const event of this.#recent) if (event.seq > last.seq) listener(this.#message(followed, event));
  }

  async #events(worker: Worker, since: number): Promise<FeedEvent[]> {
    const answer = await this.instance.queries.ask(worker, { kind: 'events', since });
    if (answer.status !== 200) throw new Error(`events query answered ${answer.status}`);
    return (answer.body as { events: FeedEvent[] }).events;
  }

  /** Records events as seen (the feed's position and the recent ones); returns the new position. */
  #advance(followed: Followed, events: FeedEvent[]): FeedPosition {
    if (events.length > 0) followed.seq = events[events.length - 1]!.seq;
    this.#recent = this.#recent.concat(events).slice(-RECENT);
    return this.#position();
  }

  #position(): FeedPosition {
    const { worker, pid, seq } = this.#followed!;
    return { worker, pid, seq };
  }

  #message(followed: Followed, event: FeedEvent): FeedMessage {
    return { kind: 'event', id: `${followed.pid}:${event.seq}`, event };
  }

  #broadcast(message: FeedMessage): void {
    for (const listener of this.#listeners.keys()) listener(message);
  }
}

/** `<pid>:<seq>`, as the feed numbers its events; null for anything else. */
export function parseEventId(id: string | null): { pid: number; seq: number } | null {
  const match = /^(\d+):(\d+)$/.exec(id?.trim() ?? '');
  return match === null ? null : { pid: Number(match[1]), seq: Number(match[2]) };
}
