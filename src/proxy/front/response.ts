import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientResponse } from '../client.js';

// The same checks node:http makes before it sends a header (so a backend's
// header that node:http refuses is refused here too, and gives a 502).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Written as one buffer when small; larger bodies go in separate writes, without a copy. */
const COALESCE_LIMIT = 16 * 1024;

let dateSecond = -1;
let dateValue = '';

/** The Date header value, formatted once per second (as node:http does). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/** What a response needs from the connection it is written on. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Keep-alive idle timeout announced in Keep-Alive, in seconds. */
  readonly keepAliveSeconds: number;
  /** The connection is draining: this response is its last. */
  readonly closing: boolean;
  /** The response is written out; the connection may serve the next request. */
  responseDone(response: FastResponse): void;
}

/**
 * An HTTP/1.1 response written straight to the client's socket, framed the
 * way node:http's ServerResponse frames it: the backend's Content-Length when
 * it gave one, chunked otherwise, no body for HEAD, 204 and 304; Date,
 * Connection and Keep-Alive added.
 */
export class FastResponse implements ClientResponse {
  statusCode = 200;
  headersSent = false;
  writableFinished = false;
  shouldKeepAlive: boolean;
  #head: string | null = null;
  #hasBody: boolean;
  #chunked = false;
  #done = false;
  #closeListeners: (() => void)[] = [];
  #drainListener: (() => void) | null = null;

  constructor(
    private readonly owner: ResponseOwner,
    headRequest: boolean,
    keepAlive: boolean,
  ) {
    this.#hasBody = !headRequest;
    this.shouldKeepAlive = keepAlive;
  }

  writeHead(status: number, reason: string | undefined, headers: string[]): this {
    if (this.headersSent) throw new Error('response head already sent');
    if (status < 100 || status > 999) throw new RangeError(`invalid status code: ${status}`);
    const text = reason ?? STATUS_CODES[status] ?? 'unknown';
    if (INVALID_VALUE.test(text)) throw new TypeError('invalid character in the status message');
    let head = `HTTP/1.1 ${status} ${text}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      if (!TOKEN.test(name)) throw new TypeError(`header name is not a token: ${JSON.stringify(name)}`);
      if (INVALID_VALUE.test(value)) throw new TypeError(`invalid character in header ${name}`);
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = true;
      else if (name.length === 4 && name.toLowerCase() === 'date') date = true;
      head += `${name}: ${value}\r\n`;
    }
    if (!date) head += `Date: ${httpDate()}\r\n`;
    if (this.owner.closing) this.shouldKeepAlive = false;
    head += this.shouldKeepAlive ? `Connection: keep-alive\r\nKeep-Alive: timeout=${this.owner.keepAliveSeconds}\r\n` : 'Connection: close\r\n';
    if (status === 204 || status === 304) this.#hasBody = false;
    if (this.#hasBody && !length) {
      this.#chunked = true;
      head += 'Transfer-Encoding: chunked\r\n';
    }
    this.statusCode = status;
    this.headersSent = true;
    this.#head = head + '\r\n';
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.#done) return false;
    if (!this.headersSent) this.writeHead(this.statusCode, undefined, []);
    return this.#send(chunk, false);
  }

  end(chunk?: Buffer): this {
    if (this.#done) return this;
    if (!this.headersSent) this.writeHead(this.statusCode, undefined, []);
    this.#send(chunk, true);
    this.#done = true;
    this.writableFinished = true;
    this.#emitClose();
    this.owner.responseDone(this);
    return this;
  }

  destroy(): this {
    this.owner.socket.destroy();
    return this;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    if (event === 'close') this.#closeListeners.push(listener);
    else this.#drainListener = listener;
    return this;
  }

  /** The client's socket drained. */
  drained(): void {
    const listener = this.#drainListener;
    this.#drainListener = null;
    listener?.();
  }

  /** The client's connection closed before the response was written out. */
  clientGone(): void {
    if (this.#done) return;
    this.#done = true;
    this.#emitClose();
  }

  #emitClose(): void {
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener();
  }

  /** Writes whatever is due: the head if still unsent, the chunk framed, the chunked body's end. */
  #send(chunk: Buffer | undefined, last: boolean): boolean {
    const socket = this.owner.socket;
    const head = this.#head;
    this.#head = null;
    const body = this.#hasBody && chunk !== undefined && chunk.length > 0 ? chunk : null;
    const prefix = this.#chunked && body !== null ? `${body.length.toString(16)}\r\n` : '';
    const suffix = this.#chunked ? (body !== null ? (last ? '\r\n0\r\n\r\n' : '\r\n') : last ? '0\r\n\r\n' : '') : '';
    const text = (head ?? '') + prefix;
    const bodyLength = body === null ? 0 : body.length;
    if (bodyLength <= COALESCE_LIMIT) {
      if (text.length + bodyLength + suffix.length === 0) return true;
      const out = Buffer.allocUnsafe(text.length + bodyLength + suffix.length);
      let at = out.write(text, 0, 'latin1');
      if (body !== null) at += body.copy(out, at);
      if (suffix.length > 0) out.write(suffix, at, 'latin1');
      return socket.write(out);
    }
    socket.cork();
    if (text.length > 0) socket.write(text, 'latin1');
    let ok = socket.write(body!);
    if (suffix.length > 0) ok = socket.write(suffix, 'latin1');
    socket.uncork();
    return ok;
  }
}
