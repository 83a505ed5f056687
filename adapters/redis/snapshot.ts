import net from 'node:net';
import type { RedisEndpoint } from '../../src/config/types.js';
import type { DeadMark } from '../../src/events.js';
import type { Logger } from '../../src/log.js';
import { parseBackend } from '../../src/routing/backend.js';
import { FrontendSet } from '../../src/routing/frontend-set.js';
import { escapeGlob, type KeySpace } from './keys.js';
import type { HipacheReader } from './reader.js';
import { CommandBuffer, ReplyReader, replyEnd } from './resp.js';

/** Keys per SCAN page: a page's LRANGEs go out in one write. */
const PAGE = 1000;

const enum Expect {
  Ok,
  Scan,
  Frontend,
  DeadMembers,
  DeadTtl,
}

export interface Snapshot {
  frontends: FrontendSet;
  dead: DeadMark[];
}

/**
 * Reads every `frontend:*` and `dead:*` key into a snapshot, on a connection
 * of its own: one SCAN pass over the keyspace, each page's keys read by
 * pipelined LRANGE (frontends) or SMEMBERS + PTTL (dead sets), and the next
 * SCAN sent before the page's reads so Redis always has work queued. Replies
 * are read in place from the socket's bytes into a FrontendSet, so a million
 * frontends load in about 1.5 s and leave no garbage behind (node-redis costs
 * ~14 µs per command; one EVAL per page, 3 µs per key in Lua).
 *
 * Malformed data is logged and skipped as HipacheReader does; a Redis error
 * (or no byte for `idleTimeoutMs`) fails the whole read.
 */
export class SnapshotRead {
  readonly #socket: net.Socket;
  readonly #reader = new ReplyReader();
  readonly #out = new CommandBuffer();
  readonly #frontends = new FrontendSet();
  readonly #dead: DeadMark[] = [];
  /** What each reply on the wire answers, in order, and for which key. */
  #expect: Expect[] = [];
  #names: string[] = [];
  #head = 0;
  #pending: Buffer | null = null;
  #scanDone = false;
  #members: string[] | null = null;
  /** The backends of the previous frontend, as bytes and as parsed: consecutive frontends mostly share them. */
  #lastBytes = Buffer.alloc(0);
  #lastBackends: readonly string[] = [];
  #lastBad: number[] = [];
  #settle!: { resolve: (s: Snapshot) => void; reject: (e: Error) => void };
  #settled = false;
  readonly done: Promise<Snapshot>;

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly keys: KeySpace,
    private readonly hipache: HipacheReader,
    private readonly log: Logger,
    idleTimeoutMs: number,
  ) {
    this.done = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    this.#socket.setTimeout(idleTimeoutMs, () => this.#fail(new Error(`snapshot read: no answer from redis within ${idleTimeoutMs} ms`)));
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () => this.#fail(new Error('snapshot read: connection to redis closed')));
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('connect', () => this.#begin());
  }

  /** Stops the read (a newer resync, or shutdown); `done` rejects. */
  abort(): void {
    this.#fail(new Error('snapshot read aborted'));
  }

  #begin(): void {
    const { username, password, db } = this.endpoint;
    if (password !== undefined) this.#send(Expect.Ok, 'AUTH', ...(username !== undefined ? [username] : []), password);
    if (db !== 0) this.#send(Expect.Ok, 'SELECT', String(db));
    this.#scan('0');
    this.#flush();
  }

  /**
   * One pass for both kinds: "[fd][re][oa][nd]*" matches "frontend:..." and
   * "dead:..." (and a few other names, dropped here), where two patterns
   * would walk the whole keyspace twice.
   */
  #scan(cursor: string): void {
    this.#send(Expect.Scan, 'SCAN', cursor, 'MATCH', `${escapeGlob(this.keys.prefix)}[fd][re][oa][nd]*`, 'COUNT', String(PAGE));
  }

  #send(expect: Expect, ...args: (string | Buffer)[]): void {
    this.#out.add(...args);
    this.#expect.push(expect);
    this.#names.push('');
  }

  #flush(): void {
    this.#socket.write(this.#out.take());
  }

  #onData(chunk: Buffer): void {
    const buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    let off = 0;
    try {
      for (;;) {
        const end = replyEnd(buf, off);
        if (end === -1) break;
        this.#handle(this.#reader.at(buf, off));
        off = end;
        if (this.#settled) return;
      }
    } catch (err) {
      return this.#fail(err as Error);
    }
    this.#pending = off === buf.length ? null : buf.subarray(off);
    if (this.#head === this.#expect.length && this.#scanDone) this.#finish();
  }

  #handle(reply: ReplyReader): void {
    const expect = this.#expect[this.#head]!;
    const name = this.#names[this.#head]!;
    this.#head++;
    if (this.#head === this.#expect.length) {
      this.#expect = [];
      this.#names = [];
      this.#head = 0;
    }
    if (reply.type === 45 /* - */ && expect !== Expect.Frontend && expect !== Expect.DeadMembers) {
      throw new Error(`snapshot read: ${reply.line()}`);
    }
    switch (expect) {
      case Expect.Ok:
        return void reply.line();
      case Expect.Scan:
        return this.#onScanPage(reply);
      case Expect.Frontend:
        return this.#onFrontend(name, reply);
      case Expect.DeadMembers:
        return this.#onDeadMembers(name, reply);
      case Expect.DeadTtl:
        return this.#onDeadTtl(name, reply);
    }
  }

  #onScanPage(reply: ReplyReader): void {
    reply.int(); // *2
    const cursor = reply.string()!;
    if (cursor === '0') this.#scanDone = true;
    else this.#scan(cursor);
    const count = reply.int();
    const prefix = Buffer.from(this.keys.prefix);
    const frontend = prefix.length + 9;
    const dead = prefix.length + 5;
    for (let i = 0; i < count; i++) {
      const redisKey = reply.bytes();
      if (!startsWith(redisKey, prefix)) continue;
      if (redisKey.length >= frontend && redisKey.toString('latin1', prefix.length, frontend) === 'frontend:') {
        this.#out.add('LRANGE', redisKey, '0', '-1');
        this.#expect.push(Expect.Frontend);
        this.#names.push(redisKey.toString('utf8', frontend));
      } else if (redisKey.length >= dead && redisKey.toString('latin1', prefix.length, dead) === 'dead:') {
        const host = redisKey.toString('utf8', dead);
        this.#out.add('SMEMBERS', redisKey);
        this.#out.add('PTTL', redisKey);
        this.#expect.push(Expect.DeadMembers, Expect.DeadTtl);
        this.#names.push(host, host);
      }
    }
    this.#flush();
  }

  #onFrontend(key: string, reply: ReplyReader): void {
    if (reply.type === 45 /* - */) {
      const error = reply.line();
      const why = error.startsWith('WRONGTYPE') ? 'not a list' : error;
      return this.log.warn(`skipping frontend key: ${why}`, { key: this.keys.frontend(key) });
    }
    const count = reply.int();
    if (count <= 0) return; // deleted since the SCAN
    const id = reply.string()!;
    const start = reply.pos;
    const bytes = reply.buf.subarray(start, this.#skipElements(reply, count - 1));
    if (!bytes.equals(this.#lastBytes)) this.#parseBackends(reply.at(reply.buf, start), count - 1, bytes);
    for (const index of this.#lastBad) {
      this.log.warn('malformed backend skipped (not an http(s) URL)', { key: this.keys.frontend(key), index, backend: this.#lastBackends[index] });
    }
    this.#frontends.set({ key, id, backends: this.#lastBackends });
  }

  /** The offset after `n` bulk strings from the reader's position. */
  #skipElements(reply: ReplyReader, n: number): number {
    let pos = reply.pos;
    for (let i = 0; i < n; i++) pos = replyEnd(reply.buf, pos);
    return pos;
  }

  #parseBackends(reply: ReplyReader, n: number, bytes: Buffer): void {
    const backends: string[] = [];
    const bad: number[] = [];
    for (let i = 0; i < n; i++) {
      const url = reply.string() ?? '';
      if (parseBackend(url) === null) bad.push(i);
      backends.push(url);
    }
    this.#lastBytes = Buffer.from(bytes); // a copy: the socket's chunk is let go
    this.#lastBackends = backends;
    this.#lastBad = bad;
  }

  #onDeadMembers(host: string, reply: ReplyReader): void {
    if (reply.type === 45 /* - */) {
      reply.line();
      this.log.warn('skipping dead key: not a set', { key: this.keys.dead(host) });
      this.#members = null;
      return;
    }
    const members: string[] = [];
    for (let n = reply.int(); n > 0; n--) members.push(reply.string() ?? '');
    this.#members = members;
  }

  #onDeadTtl(host: string, reply: ReplyReader): void {
    const pttl = reply.int();
    if (this.#members === null) return;
    this.#dead.push(...this.hipache.toMarks(host, this.keys.dead(host), this.#members, pttl, Date.now()));
    this.#members = null;
  }

  #finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#socket.destroy();
    this.#settle.resolve({ frontends: this.#frontends, dead: this.#dead });
  }

  #fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#socket.destroy();
    this.#settle.reject(err);
  }
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return prefix.length === 0 || (bytes.length >= prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0);
}
