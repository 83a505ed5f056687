// A minimal Redis client for the worker's long-lived connections (data,
// change feed, dead-mark writer): RESP2 and RESP3 replies in order, RESP3
// pushes, reconnect with backoff. node-redis cost a worker ~8 MiB settled,
// ~25 MiB of start-up garbage and ~12 µs per PING round trip; every request
// waits for one PING (the read-your-writes barrier).

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { RedisEndpoint } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';
import { encodeCommand, INCOMPLETE, parseReply, type Reply } from './resp.js';
import { withTimeout } from './timeout.js';

export { withTimeout } from './timeout.js';
export type { Reply } from './resp.js';

/** A RESP3 push (`>`): pub/sub messages, invalidations. */
export type Push = Reply[];

/** A MULTI whose EXEC answered errors for some commands: like node-redis' MultiErrorReply. */
export class MultiReplyError extends Error {
  override name = 'MultiReplyError';
  constructor(
    readonly replies: Reply[],
    readonly errorIndexes: number[],
  ) {
    super((replies[errorIndexes[0]!] as Error).message);
  }
}

const PING = Buffer.from(encodeCommand(['PING']));

type Callback = (err: Error | null, reply: Reply) => void;

export interface WireOptions {
  /** For logs: 'data', 'subscriber', 'tracker', 'writer'. */
  name: string;
  /** HELLO 3 at connect: pushes (pub/sub messages, invalidations) arrive in-band with replies. */
  resp3?: boolean;
  /** Called for every RESP3 push. */
  onPush?: (push: Push) => void;
}

/**
 * One Redis connection. Never queues commands while disconnected (a request
 * must not wait on an unreachable Redis: they fail at once) and reconnects
 * with capped, jittered backoff until close(). Events: 'ready' after each
 * (re)connect and handshake, 'reconnecting' when a connection is lost.
 * PSUBSCRIBE patterns are subscribed again on every reconnect.
 */
export class WireClient extends EventEmitter {
  #socket: net.Socket | null = null;
  #ready = false;
  #closed = false;
  #started = false;
  #retries = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pending: Buffer | null = null;
  /** Callbacks of the replies on the wire, in order (an array with a moving head: no shift() per reply). */
  #queue: Callback[] = [];
  #head = 0;
  #corked = false;
  #patterns: string[] = [];
  #lastError = '';
  #firstReady: Promise<void>;
  #resolveFirst!: () => void;

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly log: Logger,
    private readonly options: WireOptions,
  ) {
    super();
    this.#firstReady = new Promise((resolve) => (this.#resolveFirst = resolve));
    this.on('error', (err: Error) => {
      // The same error repeats on every reconnect attempt; log changes only.
      if (err.message !== this.#lastError) log.warn('redis connection error', { conn: options.name, redis: endpoint.display, error: err.message });
      this.#lastError = err.message;
    });
  }

  get isReady(): boolean {
    return this.#ready;
  }

  get isOpen(): boolean {
    return this.#started && !this.#closed;
  }

  /** Starts connecting; settles once connected the first time (it keeps trying meanwhile). */
  connect(): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      this.#open();
    }
    return this.#firstReady;
  }

  /** Sends a command; rejects with its error reply, or at once when not connected. */
  send(args: readonly string[]): Promise<Reply> {
    return new Promise((resolve, reject) => this.#send(encodeCommand(args), (err, reply) => (err === null ? resolve(reply) : reject(err))));
  }

  /** PING with its bytes prebuilt: the barrier sends one per Redis round trip. */
  ping(): Promise<Reply> {
    return new Promise((resolve, reject) => this.#send(PING, (err, reply) => (err === null ? resolve(reply) : reject(err))));
  }

  /** MULTI, the commands, EXEC: the EXEC replies; rejects (MultiReplyError) when any command failed. */
  async multi(commands: readonly (readonly string[])[]): Promise<Reply[]> {
    const all = [['MULTI'], ...commands, ['EXEC']].map((c) => this.send(c));
    const settled = await Promise.allSettled(all);
    const exec = settled[settled.length - 1]!;
    if (exec.status === 'rejected') {
      const queued = settled.find((s) => s.status === 'rejected' && s !== exec) as PromiseRejectedResult | undefined;
      throw queued?.reason ?? exec.reason; // EXECABORT: the queueing error says why
    }
    const replies = exec.value as Reply[];
    const errorIndexes = replies.flatMap((r, i) => (r instanceof Error ? [i] : []));
    if (errorIndexes.length > 0) throw new MultiReplyError(replies, errorIndexes);
    return replies;
  }

  /** Subscribes to `patterns` (RESP3 only: messages arrive as pushes), now and after every reconnect. */
  async pSubscribe(patterns: string[]): Promise<void> {
    this.#patterns.push(...patterns);
    if (this.#ready) this.#write(encodeCommand(['PSUBSCRIBE', ...patterns])); // confirmed by pushes, not by a reply
    await this.ping(); // answered after the confirmations (or rejected with the PSUBSCRIBE's error)
  }

  /** QUIT after the pending replies when connected (at most 1 s), at once otherwise; no reconnect after. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#ready) await withTimeout(this.send(['QUIT']), 1000, 'QUIT').catch(() => {});
    this.destroy();
  }

  destroy(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#socket?.destroy();
    this.#lost(new Error('the redis connection is closed'));
  }

  #send(bytes: string | Buffer, callback: Callback): void {
    if (!this.#ready) return callback(new Error(this.#closed ? 'the redis connection is closed' : 'the redis connection is not ready'), null);
    this.#queue.push(callback);
    this.#write(bytes);
  }

  /** Commands of one tick leave in one write (a burst of re-reads, a MULTI). */
  #write(bytes: string | Buffer): void {
    const socket = this.#socket!;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
  }

  #open(): void {
    const socket = net.connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true, keepAlive: true });
    this.#socket = socket;
    socket.setTimeout(2000, () => socket.destroy(new Error('Connection timeout')));
    socket.on('connect', () => {
      socket.setTimeout(0);
      this.#handshake(socket);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      const wasReady = this.#ready;
      this.#lost(new Error('connection to redis lost'));
      if (this.#closed) return;
      if (wasReady) this.emit('reconnecting');
      const delay = Math.min(50 * 2 ** this.#retries++, 2000) + Math.floor(Math.random() * 100);
      this.#retryTimer = setTimeout(() => this.#open(), delay);
    });
  }

  /** Authenticates, selects the database, resubscribes; then 'ready'. A refusal drops the connection (and retries). */
  #handshake(socket: net.Socket): void {
    const { username, password, db } = this.endpoint;
    const steps: string[][] = [];
    if (this.options.resp3) steps.push(['HELLO', '3', ...(password !== undefined ? ['AUTH', username ?? 'default', password] : [])]);
    else if (password !== undefined) steps.push(['AUTH', ...(username !== undefined ? [username] : []), password]);
    if (db !== 0) steps.push(['SELECT', String(db)]);
    if (this.#patterns.length > 0) this.#write(steps.map(encodeCommand).join('') + encodeCommand(['PSUBSCRIBE', ...this.#patterns]));
    else if (steps.length > 0) this.#write(steps.map(encodeCommand).join(''));
    steps.push(['PING']); // confirms the PSUBSCRIBE (its error, if any, lands here)
    let left = steps.length;
    const step: Callback = (err) => {
      if (this.#socket !== socket) return;
      if (err !== null) return void socket.destroy(err);
      if (--left > 0) return;
      this.#ready = true;
      this.#retries = 0;
      if (this.#lastError !== '') this.log.info('redis connection restored', { conn: this.options.name, redis: this.endpoint.display });
      this.#lastError = '';
      this.#resolveFirst();
      this.emit('ready');
    };
    for (let i = 0; i < steps.length; i++) this.#queue.push(step);
    this.#write(PING);
  }

  #onData(chunk: Buffer): void {
    let buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    let off = 0;
    try {
      for (;;) {
        const parsed = parseReply(buf, off);
        if (parsed === INCOMPLETE) break;
        off = parsed.end;
        if (parsed.push) this.#onPush(parsed.value as Push);
        else this.#reply(parsed.value);
      }
    } catch (err) {
      this.#pending = null;
      this.#socket?.destroy(err as Error);
      return;
    }
    this.#pending = off === buf.length ? null : buf.subarray(off);
  }

  #onPush(push: Push): void {
    // Subscription confirmations are pushes too; only messages go on.
    if (push[0] === 'psubscribe' || push[0] === 'subscribe') return;
    this.options.onPush?.(push);
  }

  #reply(value: Reply): void {
    if (this.#head >= this.#queue.length) return; // nothing waits for it (a connection being dropped)
    const callback = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as Callback;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (value instanceof Error) callback(value, null);
    else callback(null, value);
  }

  /** The connection is gone: every reply waited for fails. */
  #lost(err: Error): void {
    this.#ready = false;
    this.#pending = null;
    const waiting = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const callback of waiting) callback(err, null);
  }
}

/** A client that is connected, or connecting, to `endpoint`. */
export function connectWire(endpoint: RedisEndpoint, log: Logger, options: WireOptions): WireClient {
  return new WireClient(endpoint, log, options);
}
