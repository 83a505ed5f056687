// One HTTP/2 stream presented to the engine (request.ts handleRequest) as
// the ClientRequest, RequestBody and ClientResponse an HTTP/1.1 connection
// gives it (client.ts). Node's compatibility objects are not used: they
// buffer behind their own API and throw on what a backend may send.

import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { ClientRequest, ClientResponse, ClientSocketInfo, RequestBody } from '../client.js';
import type { H2RequestHead } from './request-head.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR } = constants;

/** Response fields HTTP/2 forbids (RFC 9113 §8.2.2): the engine drops them already; never sent, whatever the backend said. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

/** The request side of a stream: its head, and its DATA frames as the body. */
export class H2Request implements ClientRequest, RequestBody {
  readonly httpVersion = '2.0';
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];

  constructor(
    private readonly stream: ServerHttp2Stream,
    head: H2RequestHead,
    readonly socket: ClientSocketInfo,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
  }

  get complete(): boolean {
    return this.stream.endAfterHeaders || this.stream.readableEnded;
  }

  get readableDidRead(): boolean {
    return this.stream.readableDidRead;
  }

  get readableLength(): number {
    return this.stream.readableLength;
  }

  get readableHighWaterMark(): number {
    return this.stream.readableHighWaterMark;
  }

  on(event: 'data' | 'end', listener: (chunk: Buffer) => void): this {
    this.stream.on(event, listener);
    return this;
  }

  off(event: 'data' | 'end', listener: (chunk: Buffer) => void): this {
    this.stream.off(event, listener);
    return this;
  }

  pause(): this {
    this.stream.pause();
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

/** The response side of a stream. There is no reason phrase, nor a connection to keep alive. */
export class H2Response implements ClientResponse {
  statusCode = 200;
  shouldKeepAlive = true;
  /** Node ends the stream with the HEADERS frame of an answer that has no body (HEAD, 204, 205, 304): later writes are dropped. */
  #bodiless = false;
  /** end() was called: the answer is whole once the stream has flushed it. */
  #ended = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly head: boolean,
  ) {
    // The answer is written whole while the client still sends its body (a 413, an early answer):
    // the rest is not wanted (RFC 9113 §8.1), and the stream must close for the request to end.
    stream.once('finish', () => {
      if (!stream.readableEnded && !stream.endAfterHeaders && !stream.closed) stream.close(NGHTTP2_NO_ERROR);
    });
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /**
   * The answer went out whole. Not the stream's own writableFinished: Node
   * sets that on a stream the client reset as well, and the engine must
   * tell that client gone (its backend request aborted, Exchange.clientLeft).
   */
  get writableFinished(): boolean {
    const stream = this.stream;
    return this.#ended && stream.writableFinished && (stream.rstCode === undefined || stream.rstCode === NGHTTP2_NO_ERROR);
  }

  writeHead(status: number, _reason: string | undefined, headers: string[]): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return; // the client reset it: its 'close' tells the rest
    const out: OutgoingHttpHeaders = { ':status': status };
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (CONNECTION_SPECIFIC.has(name)) continue;
      const value = headers[i + 1]!;
      const seen = out[name];
      if (seen === undefined) out[name] = value;
      else if (Array.isArray(seen)) seen.push(value);
      else out[name] = [String(seen), value];
    }
    // Throws on what HTTP/2 cannot carry (a 1xx or 101 status, a name that is not a token):
    // the engine turns that into a 502 (exchange.ts), as for a header node:http refuses.
    stream.respond(out, { waitForTrailers: false });
    this.statusCode = status;
    this.#bodiless = this.head || status === 204 || status === 205 || status === 304;
  }

  write(chunk: Buffer): boolean {
    if (this.#bodiless || this.stream.destroyed) return true;
    return this.stream.write(chunk);
  }

  end(chunk?: Buffer): void {
    this.#ended = true;
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return; // a bodiless answer: Node ended the stream with its HEADERS
    if (chunk !== undefined && chunk.length > 0 && !this.#bodiless) stream.end(chunk);
    else stream.end();
  }

  /** The answer cannot go on (the backend failed mid-answer): the stream is reset, the session goes on. */
  destroy(): void {
    if (!this.stream.closed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }
}
