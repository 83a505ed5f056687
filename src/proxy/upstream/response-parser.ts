// Incremental HTTP/1.1 response parser for backend connections (RFC 9112).
// The head is parsed in one pass once its blank line has arrived; the body is
// framed by Content-Length, the chunked coding, or the end of the connection,
// and handed on as slices of the socket's buffers (no copy).

export class ResponseParseError extends Error {
  readonly code = 'BAD_RESPONSE';
}

export interface ResponseHead {
  status: number;
  statusText: string;
  /** Flat [name, value, ...], names as the backend spelled them. */
  headers: string[];
  /** The backend allows another request on this connection after this one. */
  keepAlive: boolean;
  /**
   * The Content-Length to relay: the body's length as parsed (for a HEAD or
   * 304 answer, the length it declares), or -1 when the body ends with its
   * chunked framing or the connection (the client side then frames it).
   */
  contentLength: number;
}

export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /** `last`: this chunk ends the body (known only for a Content-Length body). */
  onBody(chunk: Buffer, last: boolean): void;
  onComplete(): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkExtension,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailers,
  UntilClose,
  Done,
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;
/** Interim answers (100, 103) allowed before the real one: a backend must not keep a request busy forever with them. */
const MAX_INTERIM = 16;
const CR = 13;
const LF = 10;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** The value of 1 to 15 decimal digits, or -1. */
function decimal(text: string): number {
  if (text.length === 0 || text.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function fail(reason: string): never {
  throw new ResponseParseError(`invalid response from backend: ${reason}`);
}

/** One response at a time; `expect()` before each request. Errors are thrown as ResponseParseError. */
export class ResponseParser {
  #state = State.Done;
  #noBody = false;
  #partial: Buffer | null = null;
  #remaining = 0;
  #chunkDigits = 0;
  #trailerLine = 0;
  #trailerBytes = 0;
  #interim = 0;
  /** Bytes arrived after the response ended: the connection is out of step and cannot be reused. */
  extraData = false;
  /** Some byte of the current response arrived. */
  started = false;

  constructor(private readonly sink: ResponseSink) {}

  /** Ready for the answer to a request; a HEAD request's answer has no body whatever it declares. */
  expect(headRequest: boolean): void {
    this.#state = State.Head;
    this.#noBody = headRequest;
    this.#partial = null;
    this.#interim = 0;
    this.started = false;
    this.extraData = false;
  }

  get complete(): boolean {
    return this.#state === State.Done;
  }

  /** The body runs to the connection's end: the caller must call `end()` on EOF. */
  get readsUntilClose(): boolean {
    return this.#state === State.UntilClose;
  }

  execute(data: Buffer): void {
    if (data.length === 0) return;
    this.started = true;
    let offset = 0;
    while (offset < data.length) {
      switch (this.#state) {
        case State.Head:
          offset = this.#head(data, offset);
          break;
        case State.Length: {
          const n = Math.min(this.#remaining, data.length - offset);
          this.#remaining -= n;
          this.sink.onBody(offset === 0 && n === data.length ? data : data.subarray(offset, offset + n), this.#remaining === 0);
          offset += n;
          if (this.#remaining === 0) this.#finish();
          break;
        }
        case State.UntilClose:
          this.sink.onBody(offset === 0 ? data : data.subarray(offset), false);
          offset = data.length;
          break;
        case State.ChunkData: {
          const n = Math.min(this.#remaining, data.length - offset);
          this.#remaining -= n;
          this.sink.onBody(data.subarray(offset, offset + n), false);
          offset += n;
          if (this.#remaining === 0) this.#state = State.ChunkDataCr;
          break;
        }
        case State.Done:
          this.extraData = true;
          return;
        default:
          offset = this.#chunkFraming(data, offset);
      }
    }
  }

  /** The connection ended: completes a body that runs until close, otherwise the response was cut short. */
  end(): void {
    if (this.#state === State.UntilClose) this.#finish();
    else if (this.#state !== State.Done) fail('connection closed before the end of the response');
  }

  #head(data: Buffer, offset: number): number {
    let buf = data;
    let start = offset;
    if (this.#partial !== null) {
      buf = Buffer.concat([this.#partial, data.subarray(offset)]);
      start = 0;
    }
    const end = buf.indexOf(HEAD_END, start);
    if (end === -1) {
      if (buf.length - start > MAX_HEAD) fail('response head larger than 64 KiB');
      this.#partial = start === 0 && buf !== data ? buf : Buffer.from(buf.subarray(start));
      return data.length;
    }
    if (end - start > MAX_HEAD) fail('response head larger than 64 KiB');
    const consumedFromData = this.#partial === null ? end + 4 : data.length - (buf.length - (end + 4));
    this.#partial = null;
    this.#parseHead(buf.toString('latin1', start, end));
    return consumedFromData;
  }

  #parseHead(text: string): void {
    let eol = text.indexOf('\r\n');
    if (eol === -1) eol = text.length;
    const statusLine = text.slice(0, eol);
    // "HTTP/1.1 200 OK": version, then a three-digit status, then an optional reason.
    if (!statusLine.startsWith('HTTP/1.') || statusLine.length < 12 || statusLine.charCodeAt(8) !== 32) fail('malformed status line');
    const minor = statusLine.charCodeAt(7) - 48;
    const status = decimal(statusLine.slice(9, 12)); // three digits: "2e2" or " 20" are not a status
    if ((minor !== 0 && minor !== 1) || status < 100 || status > 999 || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)) {
      fail('malformed status line');
    }
    const headers: string[] = [];
    let length = -1;
    let chunked = false;
    let close = minor === 0;
    for (let start = eol + 2; start < text.length; start = eol + 2) {
      eol = text.indexOf('\r\n', start);
      if (eol === -1) eol = text.length;
      const colon = text.indexOf(':', start);
      if (colon <= start || colon > eol) fail('malformed header line');
      const c0 = text.charCodeAt(start);
      if (c0 === 32 || c0 === 9 || text.charCodeAt(colon - 1) === 32) fail('malformed header line');
      const name = text.slice(start, colon);
      const value = text.slice(colon + 1, eol).trim();
      headers.push(name, value);
      switch (name.length) {
        case 10:
          if (name.toLowerCase() === 'connection') {
            for (const token of value.toLowerCase().split(',')) {
              const t = token.trim();
              if (t === 'close') close = true;
              else if (t === 'keep-alive' && minor === 0) close = false;
            }
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            const n = decimal(value);
            if (n === -1) fail('invalid Content-Length');
            if (length !== -1 && length !== n) fail('conflicting Content-Length headers');
            length = n;
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            // Only "chunked" can be relayed: another coding would have to be decoded, or passed on
            // with a Transfer-Encoding the client side does not write (RFC 9112 §6.1).
            if (chunked || value.toLowerCase() !== 'chunked') fail(`transfer coding "${value}" cannot be relayed`);
            chunked = true;
          }
          break;
      }
    }
    const statusText = statusLine.length > 13 ? statusLine.slice(13) : '';
    if (status < 200) {
      if (status === 101) fail('unexpected 101 Switching Protocols');
      if (++this.#interim > MAX_INTERIM) fail(`more than ${MAX_INTERIM} interim answers`);
      this.#state = State.Head; // an interim answer (100, 103): the real one follows
      return;
    }
    // A response with both framings is a smuggling risk: follow Transfer-Encoding, then close (RFC 9112 §6.3).
    if (chunked && length !== -1) close = true;
    let contentLength = -1;
    if (this.#noBody || status === 204 || status === 304) {
      this.#state = State.Done;
      if (status !== 204 && !chunked) contentLength = length; // what a GET would get: relayed as declared
    } else if (chunked) {
      this.#state = State.ChunkSize;
      this.#remaining = 0;
      this.#chunkDigits = 0;
    } else if (length >= 0) {
      this.#remaining = length;
      this.#state = length === 0 ? State.Done : State.Length;
      contentLength = length;
    } else {
      this.#state = State.UntilClose;
      close = true;
    }
    this.sink.onHead({ status, statusText, headers, keepAlive: !close, contentLength });
    if (this.#state === State.Done) this.sink.onComplete();
  }

  /** Chunk sizes, extensions, the CRLF after each chunk and the trailer section, a byte at a time. */
  #chunkFraming(data: Buffer, offset: number): number {
    while (offset < data.length) {
      const c = data[offset++]!;
      switch (this.#state) {
        case State.ChunkSize: {
          const v = hexValue(c);
          if (v !== -1) {
            if (++this.#chunkDigits > 12) fail('chunk size too large');
            this.#remaining = this.#remaining * 16 + v;
            continue;
          }
          if (this.#chunkDigits === 0) fail('missing chunk size');
          if (c === CR) this.#state = State.ChunkSizeLf;
          else if (c === 59 /* ; */ || c === 32 || c === 9) this.#state = State.ChunkExtension;
          else fail('invalid chunk size');
          continue;
        }
        case State.ChunkExtension:
          if (c === CR) this.#state = State.ChunkSizeLf;
          else if (c === LF) fail('bare LF in chunk framing');
          continue;
        case State.ChunkSizeLf:
          if (c !== LF) fail('chunk size line not ended by CRLF');
          if (this.#remaining === 0) {
            this.#state = State.Trailers;
            this.#trailerLine = 0;
            this.#trailerBytes = 0;
            continue;
          }
          this.#state = State.ChunkData;
          return offset;
        case State.ChunkDataCr:
          if (c !== CR) fail('chunk data longer than its size');
          this.#state = State.ChunkDataLf;
          continue;
        case State.ChunkDataLf:
          if (c !== LF) fail('chunk data not ended by CRLF');
          this.#state = State.ChunkSize;
          this.#remaining = 0;
          this.#chunkDigits = 0;
          continue;
        case State.Trailers:
          // Trailer fields are dropped (a proxy may; RFC 9110 §6.5.1); an empty line ends the message.
          if (c === LF) {
            if (this.#trailerLine === 0) {
              this.#finish();
              return offset;
            }
            this.#trailerLine = 0;
          } else if (c !== CR) {
            this.#trailerLine++;
            if (++this.#trailerBytes > MAX_HEAD) fail('trailer section too large');
          }
          continue;
        default:
          return offset - 1;
      }
    }
    return offset;
  }

  #finish(): void {
    this.#state = State.Done;
    this.sink.onComplete();
  }
}
