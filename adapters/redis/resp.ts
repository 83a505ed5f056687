// Just enough RESP2 to stream a snapshot: commands written into one buffer,
// replies read in place from the socket's bytes. The snapshot of a million
// frontends is a million replies; node-redis spends ~14 µs and a promise on
// each, this reads one in well under a microsecond and makes no object for it.

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
 * end (at `limit`) before it does. Throws on bytes that are not RESP2.
 */
export function replyEnd(buf: Buffer, off: number, limit = buf.length): number {
  let pending = 1; // replies still to skip: an array adds its elements
  while (pending > 0) {
    if (off >= limit) return -1;
    const nl = buf.indexOf(CR, off);
    if (nl === -1 || nl + 1 >= limit) return -1;
    const type = buf[off];
    pending--;
    if (type === 36 /* $ */) {
      const length = intAt(buf, off + 1, nl);
      off = nl + 2;
      if (length >= 0) {
        off += length + 2;
        if (off > limit) return -1;
      }
    } else if (type === 42 /* * */) {
      const count = intAt(buf, off + 1, nl);
      if (count > 0) pending += count;
      off = nl + 2;
    } else if (type === 43 /* + */ || type === 45 /* - */ || type === 58 /* : */) {
      off = nl + 2;
    } else {
      throw new Error(`not a RESP2 reply (type byte ${type})`);
    }
  }
  return off;
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
