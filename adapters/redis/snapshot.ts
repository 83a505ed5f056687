import net from 'node:net';
import type { RedisEndpoint } from '../../src/config/types.js';
import type { DeadMark } from '../../src/vocabulary/events.js';
import type { Logger } from '../../src/log.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import type { JudgedCertificate, StoredCertificate, Verdict } from './emitted-certificates.js';
import { digestOf } from './emitted-certificates.js';
import { escapeGlob, type KeySpace } from './keys.js';
import { malformedBackends, warnMalformed, warnUnmatchable } from './hipache-list.js';
import type { StoredOptions } from './held-options.js';
import type { HipacheReader } from './reader.js';
import { CommandWriter, keyCommand, ReadWindow, ReplyReader, replyEnd } from './resp.js';

/** Keys per SCAN page: a page's reads go out in one write. */
const PAGE = 1000;

const LRANGE = keyCommand('LRANGE', '0', '-1');
const SMEMBERS = keyCommand('SMEMBERS');
const PTTL = keyCommand('PTTL');
const GET = keyCommand('GET');
const HGETALL = keyCommand('HGETALL');

const enum Expect {
  Ok,
  Keyspace,
  Scan,
  Frontend,
  FrontendTtl,
  DeadMembers,
  DeadTtl,
  Certificate,
  CertificateTtl,
  Options,
  OptionsTtl,
}

export interface Snapshot {
  frontends: FrontendSet;
  dead: DeadMark[];
  /** The frontend and certificate keys with a TTL, and when they expire (ms since the epoch, no later than Redis' deadline). */
  expiring: [redisKey: string, until: number][];
  /** Every `tls:` key, judged as it was read (a check costs about a millisecond: they are spread over the read). */
  certificates: JudgedCertificate[];
  /** Every `options:` key (by frontend key) and what it holds. */
  options: [key: string, stored: StoredOptions][];
}

/** What a `tls:` value means (EmittedCertificates.judge): called as each is read, with its text available during the call only. */
export type CertificateJudge = (name: string, stored: StoredCertificate) => Verdict;

/**
 * Reads every `frontend:*`, `dead:*`, `tls:*` and `options:*` key into a snapshot, on a
 * connection of its own: one SCAN pass over the keyspace, each page's keys read by
 * pipelined LRANGE + PTTL (frontends), SMEMBERS + PTTL (dead sets), GET +
 * PTTL (certificates) or HGETALL + PTTL (options), and the next
 * SCAN sent before the page's reads so Redis always has work queued. A
 * database where no key has a TTL (INFO keyspace) is read without the
 * frontends' PTTL.
 *
 * Replies are read in place from the socket's bytes: a frontend's key and id
 * go from the reply into the FrontendSet without becoming strings, and a
 * backend list equal (byte for byte) to the previous frontend's is not parsed
 * again. A million frontends load in under 2 s, most of it Redis' own work
 * (node-redis spends ~14 µs per command; an EVAL per page ~3 µs per key in Lua),
 * and leave no garbage behind: the socket reads into one reused buffer.
 *
 * Malformed data is logged and skipped as HipacheReader does; a Redis error
 * (or no byte for `idleTimeoutMs`) fails the whole read.
 */
export class SnapshotRead {
  readonly #socket: net.Socket;
  readonly #window = new ReadWindow();
  readonly #reader = new ReplyReader();
  readonly #out = new CommandWriter();
  readonly #frontends = new FrontendSet();
  readonly #dead: DeadMark[] = [];
  readonly #expiring: [string, number][] = [];
  readonly #certificates: JudgedCertificate[] = [];
  readonly #options: [string, StoredOptions][] = [];
  readonly #prefix: Buffer;
  // What each reply on the wire answers, in order, and for which key: its bytes in #keys
  // (copied from the SCAN reply, which the read window overwrites).
  #expect: Expect[] = [];
  #keyAt: number[] = [];
  #keyEnd: number[] = [];
  /** When the command was sent (a PTTL counts from then). */
  #sentAt: number[] = [];
  #now = 0;
  #head = 0;
  #keys = Buffer.alloc(64 * 1024);
  #keysEnd = 0;
  #scanDone = false;
  /** Some key of the database has a TTL: the frontends' are read too. */
  #ttls = true;
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
    private readonly judge: CertificateJudge,
  ) {
    this.#prefix = Buffer.from(keys.prefix);
    this.done = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    const onread = { buffer: this.#window.input, callback: (n: number) => this.#onRead(n) };
    this.#socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true, onread });
    this.#socket.setTimeout(idleTimeoutMs, () => this.#fail(new Error(`snapshot read: no answer from redis within ${idleTimeoutMs} ms`)));
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () => this.#fail(new Error('snapshot read: connection to redis closed')));
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
    this.#send(Expect.Keyspace, 'INFO', 'keyspace');
    this.#scan('0');
    this.#flush();
  }

  #flush(): void {
    this.#out.flush((bytes, done) => this.#socket.write(bytes, done));
  }

  /**
   * One pass for every kind: "[fdto][relp][oast][nd:i]*" matches "frontend:...",
   * "dead:...", "tls:..." and "options:..." (and a few other names, dropped
   * here), where four patterns would walk the whole keyspace four times.
   */
  #scan(cursor: string): void {
    this.#send(Expect.Scan, 'SCAN', cursor, 'MATCH', `${escapeGlob(this.keys.prefix)}[fdto][relp][oast][nd:i]*`, 'COUNT', String(PAGE));
  }

  #send(expect: Expect, ...args: string[]): void {
    this.#out.command(...args);
    this.#expecting(expect, this.#keysEnd, this.#keysEnd);
  }

  /** One more reply to read, for the key at #keys[keyAt, keyEnd). */
  #expecting(expect: Expect, keyAt: number, keyEnd: number): void {
    this.#expect.push(expect);
    this.#keyAt.push(keyAt);
    this.#keyEnd.push(keyEnd);
    this.#sentAt.push(this.#now);
  }

  /** Copies bytes[start, end) to the end of #keys; returns where. */
  #keepKey(bytes: Buffer, start: number, end: number): number {
    const at = this.#keysEnd;
    if (at + end - start > this.#keys.length) {
      const grown = Buffer.alloc(2 * (at + end - start));
      this.#keys.copy(grown, 0, 0, at);
      this.#keys = grown;
    }
    const keys = this.#keys;
    for (let i = start, j = at; i < end; i++, j++) keys[j] = bytes[i]!;
    this.#keysEnd = at + end - start;
    return at;
  }

  /** Parses what a read brought; true: keep reading (net's onread contract). */
  #onRead(n: number): boolean {
    this.#read(n);
    return true;
  }

  #read(n: number): void {
    const window = this.#window;
    window.filled(n);
    let off = window.start;
    try {
      for (;;) {
        const end = replyEnd(window.buf, off, window.end);
        if (end === -1) break;
        this.#handle(this.#reader.at(window.buf, off));
        off = end;
        if (this.#settled) return;
      }
    } catch (err) {
      return this.#fail(err as Error);
    }
    window.consumed(off);
    if (this.#head === this.#expect.length && this.#scanDone) this.#finish();
  }

  #handle(reply: ReplyReader): void {
    const h = this.#head++;
    const expect = this.#expect[h]!;
    const keyAt = this.#keyAt[h]!;
    const keyEnd = this.#keyEnd[h]!;
    const sentAt = this.#sentAt[h]!;
    const keyIn = this.#keys;
    if (this.#head >= 4096 && this.#head * 2 >= this.#expect.length) this.#dropRead();
    if (reply.type === 45 /* - */ && !MAY_FAIL.has(expect)) {
      throw new Error(`snapshot read: ${reply.line()}`);
    }
    switch (expect) {
      case Expect.Ok:
        return void reply.line();
      case Expect.Keyspace:
        return this.#onKeyspace(reply);
      case Expect.Scan:
        return this.#onScanPage(reply);
      case Expect.Frontend:
        return this.#onFrontend(keyIn, keyAt, keyEnd, reply);
      case Expect.FrontendTtl:
        return this.#onFrontendTtl(keyIn, keyAt, keyEnd, sentAt, reply);
      case Expect.DeadMembers:
        return this.#onDeadMembers(keyIn.toString('utf8', keyAt, keyEnd), reply);
      case Expect.DeadTtl:
        return this.#onDeadTtl(keyIn.toString('utf8', keyAt, keyEnd), reply);
      case Expect.Certificate:
        return this.#onCertificate(keyIn.toString('utf8', keyAt, keyEnd), reply);
      case Expect.CertificateTtl:
        return this.#onTtl(this.keys.tls(keyIn.toString('utf8', keyAt, keyEnd)), sentAt, reply);
      case Expect.Options:
        return this.#onOptions(keyIn.toString('utf8', keyAt, keyEnd), reply);
      case Expect.OptionsTtl:
        return this.#onTtl(this.keys.options(keyIn.toString('utf8', keyAt, keyEnd)), sentAt, reply);
    }
  }

  /**
   * The queue seldom empties (the next page is asked before this one is
   * read): drop the entries read, and their key bytes.
   */
  #dropRead(): void {
    const head = this.#head;
    const base = this.#keyAt[head] ?? this.#keysEnd;
    this.#expect = this.#expect.slice(head);
    this.#keyAt = this.#keyAt.slice(head).map((at) => at - base);
    this.#keyEnd = this.#keyEnd.slice(head).map((end) => end - base);
    this.#sentAt = this.#sentAt.slice(head);
    this.#keys.copyWithin(0, base, this.#keysEnd);
    this.#keysEnd -= base;
    this.#head = 0;
  }

  #onScanPage(reply: ReplyReader): void {
    reply.int(); // *2
    const cursor = reply.string()!;
    if (cursor === '0') this.#scanDone = true;
    else this.#scan(cursor);
    const buf = reply.buf;
    const prefix = this.#prefix.length;
    this.#now = Date.now();
    for (let n = reply.int(); n > 0; n--) {
      const start = reply.bulk();
      const end = start + reply.length;
      if (!startsWith(buf, start, end, this.#prefix)) continue;
      if (startsWith(buf, start + prefix, end, FRONTEND)) {
        this.#out.keyed(LRANGE.head, buf, start, end, LRANGE.tail);
        const at = this.#keepKey(buf, start + prefix + FRONTEND.length, end);
        this.#expecting(Expect.Frontend, at, this.#keysEnd);
        if (this.#ttls) {
          this.#out.keyed(PTTL.head, buf, start, end, PTTL.tail);
          this.#expecting(Expect.FrontendTtl, at, this.#keysEnd);
        }
      } else if (startsWith(buf, start + prefix, end, DEAD)) {
        this.#out.keyed(SMEMBERS.head, buf, start, end, SMEMBERS.tail);
        this.#out.keyed(PTTL.head, buf, start, end, PTTL.tail);
        const at = this.#keepKey(buf, start + prefix + DEAD.length, end);
        this.#expecting(Expect.DeadMembers, at, this.#keysEnd);
        this.#expecting(Expect.DeadTtl, at, this.#keysEnd);
      } else if (startsWith(buf, start + prefix, end, TLS)) {
        this.#out.keyed(GET.head, buf, start, end, GET.tail);
        const at = this.#keepKey(buf, start + prefix + TLS.length, end);
        this.#expecting(Expect.Certificate, at, this.#keysEnd);
        if (this.#ttls) {
          this.#out.keyed(PTTL.head, buf, start, end, PTTL.tail);
          this.#expecting(Expect.CertificateTtl, at, this.#keysEnd);
        }
      } else if (startsWith(buf, start + prefix, end, OPTIONS)) {
        this.#out.keyed(HGETALL.head, buf, start, end, HGETALL.tail);
        const at = this.#keepKey(buf, start + prefix + OPTIONS.length, end);
        this.#expecting(Expect.Options, at, this.#keysEnd);
        if (this.#ttls) {
          this.#out.keyed(PTTL.head, buf, start, end, PTTL.tail);
          this.#expecting(Expect.OptionsTtl, at, this.#keysEnd);
        }
      }
    }
    this.#flush();
  }

  #onFrontend(keyIn: Buffer, keyAt: number, keyEnd: number, reply: ReplyReader): void {
    if (reply.type === 45 /* - */) {
      const error = reply.line();
      const why = error.startsWith('WRONGTYPE') ? 'not a list' : error;
      return this.log.warn(`skipping frontend key: ${why}`, { key: this.keys.frontend(keyIn.toString('utf8', keyAt, keyEnd)) });
    }
    const count = reply.int();
    if (count <= 0) return; // deleted since the SCAN
    const idAt = reply.bulk();
    const idEnd = idAt + reply.length;
    const backendsAt = reply.pos;
    let backendsEnd = backendsAt;
    for (let i = 1; i < count; i++) backendsEnd = replyEnd(reply.buf, backendsEnd);
    if (this.#lastBytes.compare(reply.buf, backendsAt, backendsEnd) !== 0) this.#parseBackends(reply, count - 1, backendsEnd);
    if (this.#lastBad.length > 0) warnMalformed(this.log, this.keys.frontend(keyIn.toString('utf8', keyAt, keyEnd)), this.#lastBackends, this.#lastBad);
    if (!this.#frontends.setBytes(keyIn, keyAt, keyEnd, reply.buf, idAt, idEnd, this.#lastBackends)) {
      const [key, id] = [keyIn.toString('utf8', keyAt, keyEnd), reply.buf.toString('utf8', idAt, idEnd)];
      this.#frontends.set({ key, id, backends: this.#lastBackends });
      warnUnmatchable(this.log, this.keys.frontend(key), key); // path keys come this way (setBytes declines them)
    }
  }

  /** `db0:keys=5,expires=0,avg_ttl=0`: expires=0 (or the database absent: empty) means no key has a TTL. INFO refused: assume some. */
  #onKeyspace(reply: ReplyReader): void {
    if (reply.type === 45 /* - */) return void reply.line();
    const info = reply.type === 61 /* = verbatim */ ? reply.string(4) : reply.string();
    const line = new RegExp(`^db${this.endpoint.db}:.*\\bexpires=(\\d+)`, 'm').exec(info ?? '');
    this.#ttls = line !== null && line[1] !== '0';
  }

  /** Most frontends have no TTL (-1); one that has expires no later than `sentAt` + its PTTL. */
  #onFrontendTtl(keyIn: Buffer, keyAt: number, keyEnd: number, sentAt: number, reply: ReplyReader): void {
    const pttl = reply.int();
    if (pttl >= 0) this.#expiring.push([this.keys.frontend(keyIn.toString('utf8', keyAt, keyEnd)), sentAt + pttl]);
  }

  #onTtl(redisKey: string, sentAt: number, reply: ReplyReader): void {
    const pttl = reply.int();
    if (pttl >= 0) this.#expiring.push([redisKey, sentAt + pttl]);
  }

  /** A `tls:` value, judged in place: its bytes become a string only when its digest is not known already. */
  #onCertificate(name: string, reply: ReplyReader): void {
    let stored: StoredCertificate;
    if (reply.type === 45 /* - */) {
      const error = reply.line();
      if (!error.startsWith('WRONGTYPE')) throw new Error(`snapshot read: ${error}`);
      stored = { kind: 'not-a-string' };
    } else {
      if (reply.buf[reply.pos + 1] === 45 /* $-1: nil */) return; // deleted since the SCAN
      const start = reply.bulk();
      const bytes = reply.buf.subarray(start, start + reply.length);
      stored = { kind: 'pem', digest: digestOf(bytes), text: () => bytes.toString('utf8') };
    }
    const verdict = this.judge(name, stored);
    if (verdict.kind !== 'absent') this.#certificates.push({ name, verdict });
  }

  /** An `options:` hash: its fields, judged when the snapshot is applied (HeldOptions). */
  #onOptions(key: string, reply: ReplyReader): void {
    if (reply.type === 45 /* - */) {
      const error = reply.line();
      if (!error.startsWith('WRONGTYPE')) throw new Error(`snapshot read: ${error}`);
      return void this.#options.push([key, { kind: 'not-a-hash' }]);
    }
    const fields: Record<string, string> = {};
    for (let n = reply.int() / 2; n > 0; n--) {
      const field = reply.string() ?? '';
      fields[field] = reply.string() ?? '';
    }
    if (Object.keys(fields).length > 0) this.#options.push([key, { kind: 'hash', fields }]); // else deleted since the SCAN
  }

  #parseBackends(reply: ReplyReader, n: number, end: number): void {
    const start = reply.pos;
    const backends: string[] = [];
    for (let i = 0; i < n; i++) backends.push(reply.string() ?? '');
    this.#lastBytes = Buffer.from(reply.buf.subarray(start, end)); // a copy: the read window is reused
    this.#lastBackends = backends;
    this.#lastBad = malformedBackends(backends);
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
    this.#settle.resolve({
      frontends: this.#frontends,
      dead: this.#dead,
      expiring: this.#expiring,
      certificates: this.#certificates,
      options: this.#options,
    });
  }

  #fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#socket.destroy();
    this.#settle.reject(err);
  }
}

const FRONTEND = Buffer.from('frontend:');
const DEAD = Buffer.from('dead:');
const TLS = Buffer.from('tls:');
const OPTIONS = Buffer.from('options:');

/** Replies that may be an error about the key itself (a wrong type): handled, not a failed read. */
const MAY_FAIL = new Set([Expect.Keyspace, Expect.Frontend, Expect.DeadMembers, Expect.Certificate, Expect.Options]);

/** bytes[start, end) begins with `prefix`. */
function startsWith(bytes: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return false;
  return true;
}
