// The one RESP parser (RESP2 and RESP3): replyEnd() frames a reply in a
// buffer, and it is then either read in place, part by part (ReplyReader:
// how a snapshot streams a million replies without making an object per
// reply; node-redis spends ~14 µs and a promise on each), or decoded into
// values (parseReply: what the long-lived connections of wire.ts hand on).
// Commands are written by CommandWriter (the snapshot) or encodeCommand.

const CR = 13;

/**
 * RESP2 commands written straight into one buffer (one socket write for a
 * whole page), a key's bytes copied from the reply that named it. Buffers are
 * reused once written: a snapshot makes no allocation per page.
 */
export class CommandWriter {
  #buf: Buffer = Buffer.alloc(128 * 1024);
  #pos = 0;
  #spare: Buffer[] = [];

  /** A command of string arguments. */
  command(...args: string[]): void {
    this.#text(`*${args.length}\r\n`);
    for (const arg of args) this.#text(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  }

  /**
   * `head`, then bytes[start, end) as a bulk string, then `tail`: the encoded
   * command around its key (see keyCommand()).
   */
  keyed(head: Buffer, bytes: Buffer, start: number, end: number, tail: Buffer): void {
    this.#room(head.length + 16 + end - start + tail.length);
    // Byte loops, not Buffer#copy: with offsets that makes a Uint8Array view per call.
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < head.length; i++) buf[pos++] = head[i]!;
    buf[pos++] = 36; // $
    pos = writeDigits(buf, pos, end - start);
    buf[pos++] = 13;
    buf[pos++] = 10;
    for (let i = start; i < end; i++) buf[pos++] = bytes[i]!;
    for (let i = 0; i < tail.length; i++) buf[pos++] = tail[i]!;
    this.#pos = pos;
  }

  /** Hands the commands written so far to `write`, which calls `done` once the bytes are sent. */
  flush(write: (bytes: Buffer, done: () => void) => void): void {
    if (this.#pos === 0) return;
    const buf = this.#buf;
    const bytes = buf.subarray(0, this.#pos);
    this.#buf = this.#spare.pop() ?? Buffer.alloc(buf.length);
    this.#pos = 0;
    write(bytes, () => {
      if (this.#spare.length < 2) this.#spare.push(buf);
    });
  }

  #text(text: string): void {
    this.#room(Buffer.byteLength(text));
    this.#pos += this.#buf.write(text, this.#pos);
  }

  #room(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const grown = Buffer.alloc(Math.max(this.#buf.length * 2, this.#pos + bytes));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }
}

/** A command's bytes: an array of bulk strings. */
export function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

function writeDigits(buf: Buffer, pos: number, n: number): number {
  let div = 1;
  while (div * 10 <= n) div *= 10;
  for (; div >= 1; div /= 10) buf[pos++] = 48 + (Math.floor(n / div) % 10);
  return pos;
}

/** The parts of a command around its key: keyCommand('LRANGE', '0', '-1') for `LRANGE <key> 0 -1`. */
export function keyCommand(name: string, ...rest: string[]): { head: Buffer; tail: Buffer } {
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  return { head: Buffer.from(`*${2 + rest.length}\r\n${bulk(name)}`), tail: Buffer.from(`\r\n${rest.map(bulk).join('')}`) };
}

/**
 * The bytes read and not parsed yet. The socket reads into one fixed buffer
 * (net's `onread`, which reuses it for every read) and each read is appended
 * here: no buffer is allocated per read and none is kept alive by a parsed
 * reply, so reading a million replies leaves the malloc heap as it found it.
 */
export class ReadWindow {
  /** Give this to net's `onread.buffer`. */
  readonly input = Buffer.alloc(64 * 1024);
  buf: Buffer = Buffer.alloc(256 * 1024);
  start = 0;
  end = 0;

  /** `n` bytes were read into `input`. */
  filled(n: number): void {
    if (this.buf.length - this.end < n) {
      const pending = this.end - this.start;
      if (pending + n > this.buf.length) {
        const grown = Buffer.alloc(2 * (pending + n)); // a reply larger than the window
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      } else {
        this.buf.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = pending;
    }
    this.input.copy(this.buf, this.end, 0, n);
    this.end += n;
  }

  /** Everything before `offset` was parsed. */
  consumed(offset: number): void {
    this.start = offset;
    if (this.start === this.end) this.start = this.end = 0;
  }
}

/**
 * The offset just after the reply starting at `off`, or -1 when the bytes
 * end (at `limit`) before it does. Throws on bytes that are not RESP.
 */
export function replyEnd(buf: Buffer, off: number, limit = buf.length): number {
  let pending = 1; // replies still to skip: an aggregate adds its elements
  while (pending > 0) {
    if (off >= limit) return -1;
    const nl = buf.indexOf(CR, off);
    if (nl === -1 || nl + 1 >= limit) return -1;
    const type = buf[off]!;
    pending--;
    switch (type) {
      case 36: // $ bulk string
      case 33: // ! bulk error
      case 61: {
        // = verbatim string
        const length = intAt(buf, off + 1, nl);
        off = nl + 2;
        if (length >= 0) {
          off += length + 2;
          if (off > limit) return -1;
        }
        break;
      }
      case 42: // * array
      case 126: // ~ set
      case 62: // > push
      case 37: // % map: key, value, ...
      case 124: {
        // | attribute: key, value, ..., then the reply it annotates
        const count = intAt(buf, off + 1, nl);
        if (count > 0) pending += type === 37 || type === 124 ? 2 * count : count;
        if (type === 124) pending++;
        off = nl + 2;
        break;
      }
      case 43: // + simple string
      case 45: // - error
      case 58: // : integer
      case 95: // _ null
      case 35: // # boolean
      case 44: // , double
      case 40: // ( big number
        off = nl + 2;
        break;
      default:
        throw new Error(`not a RESP reply (type byte ${type})`);
    }
  }
  return off;
}

/** A decoded reply: RESP3 maps and sets become flat arrays (the RESP2 shapes). */
export type Reply = string | number | boolean | null | Error | Reply[];

/** A reply Redis answered with `-` or `!`: its message starts with the error code (WRONGTYPE, NOAUTH, ...). */
export class RedisReplyError extends Error {
  override name = 'RedisReplyError';
}

export const INCOMPLETE = Symbol('incomplete');

/**
 * The reply at `off` decoded, with the offset after it and whether it is a
 * RESP3 push (`>`); INCOMPLETE when the bytes end first (parse again from
 * `off` once more came). Throws on bytes that are not RESP.
 */
export function parseReply(buf: Buffer, off: number): { value: Reply; end: number; push: boolean } | typeof INCOMPLETE {
  const end = replyEnd(buf, off);
  if (end === -1) return INCOMPLETE;
  const reader = new ReplyReader().at(buf, off);
  return { value: decode(reader), end, push: buf[off] === 62 /* > */ };
}

/** Decodes the complete reply at the reader's position, moving past it. */
function decode(r: ReplyReader): Reply {
  const type = r.type;
  switch (type) {
    case 43: // + simple string
    case 40: // ( big number, kept as text
      return r.line();
    case 45: // - error
      return new RedisReplyError(r.line());
    case 58: // : integer
      return r.int();
    case 95: // _ null
      r.line();
      return null;
    case 35: // # boolean
      return r.line() === 't';
    case 44: // , double
      return Number(r.line().replace('inf', 'Infinity'));
    case 36: // $ bulk string
      return r.string();
    case 33: {
      // ! bulk error
      const text = r.string();
      return text === null ? null : new RedisReplyError(text);
    }
    case 61: // = verbatim string: "txt:" then the text
      return r.string(4);
    default: {
      // * ~ > % |: aggregates (a map flattened to key, value, ...; an attribute skipped)
      const n = r.int();
      if (n < 0) return null;
      const items: Reply[] = [];
      for (let i = type === 37 || type === 124 ? 2 * n : n; i > 0; i--) items.push(decode(r));
      return type === 124 ? decode(r) : items;
    }
  }
}

function intAt(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let sign = 1;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 45 /* - */) sign = -1;
    else n = n * 10 + (c - 48);
  }
  return sign * n;
}

/** Reads the parts of one complete reply, in order, from a position in a buffer. */
export class ReplyReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;

  at(buf: Buffer, pos: number): this {
    this.buf = buf;
    this.pos = pos;
    return this;
  }

  /** The type byte of the next part ('*', '$', ':', '+', '-'), not consumed. */
  get type(): number {
    return this.buf[this.pos]!;
  }

  /** Consumes a header (`*3`, `$5`, `:12`) and returns its number (-1: nil). */
  int(): number {
    const nl = this.buf.indexOf(CR, this.pos);
    const n = intAt(this.buf, this.pos + 1, nl);
    this.pos = nl + 2;
    return n;
  }

  /** Consumes a simple string or an error (`+OK`, `-ERR ...`) and returns its text. */
  line(): string {
    const nl = this.buf.indexOf(CR, this.pos);
    const text = this.buf.toString('utf8', this.pos + 1, nl);
    this.pos = nl + 2;
    return text;
  }

  /** Consumes a bulk string, decoded as UTF-8 from byte `skip` of it on (null: nil). */
  string(skip = 0): string | null {
    const length = this.int();
    if (length < 0) return null;
    const start = this.pos;
    this.pos += length + 2;
    return this.buf.toString('utf8', start + skip, start + length);
  }

  /** Length of the bulk string bulk() last consumed. */
  length = 0;

  /** Consumes a bulk string and returns where its bytes start in `buf` (`length` of them). */
  bulk(): number {
    this.length = Math.max(this.int(), 0);
    const start = this.pos;
    this.pos += this.length + 2;
    return start;
  }
}
