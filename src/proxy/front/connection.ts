import type { Socket } from 'node:net';
import type { ClientRequest, ClientResponse } from '../client.js';
import type { ClientStallLimit } from '../limits.js';
import { nextRequestId } from '../request-id.js';
import { FastBody, type BodyReader } from './request-body.js';
import { parseSimpleRequestHead, type SimpleRequestHead } from './request-head.js';
import { FastResponse, type ResponseOwner } from './response.js';

/**
 * On a graceful shutdown an idle connection stays open this long, so a
 * request already on its way is answered (with Connection: close) instead
 * of meeting a closed socket.
 */
const DRAIN_GRACE_MS = 1000;

/** Pipelined bytes held while a response is under way before the socket stops reading. */
const MAX_PENDING = 64 * 1024;

/**
 * An idle kept-alive connection closes this long after the timeout its
 * answers announce, so that a client sending its next request at the last
 * moment does not meet a closed socket (node:http waits as long).
 */
const KEEP_ALIVE_GRACE_MS = 1000;

/** Every answer carries an X-Request-Id, this one too (as node:http's 408 does, server.ts). */
const requestTimeout = (): string => `HTTP/1.1 408 Request Timeout\r\nX-Request-Id: ${nextRequestId()}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;

/** The client-side timeouts of a listener (SPEC §3 and §6), the same as node:http's. */
export interface ClientTimeouts {
  /** server.keepAliveTimeout, in seconds: how long a kept-alive connection may stay idle between requests. */
  readonly keepAlive: number;
  /** server.headersTimeout, in ms: a new connection that sends nothing for this long gets a 408. */
  readonly headersMs: number;
  /** server.idleTimeout: how long the client may leave its answers untaken. */
  readonly clientStall: ClientStallLimit;
}

export type RequestHandler = (req: ClientRequest, res: ClientResponse, body: FastBody | null) => void;
/** Gives the socket to node:http, with the bytes read from it and not yet served. */
export type Handoff = (socket: Socket, unread: Buffer) => void;

/**
 * The fast front end of one listener: the connections it serves now, and
 * counts of what it did, so that an operator (and a test) can tell which
 * front end served. Plain counters, bumped in place: nothing is allocated.
 */
export class FastFront {
  readonly connections = new Set<FastConnection>();
  /** Requests served on the bare socket. */
  requests = 0;
  /** Connections handed to node:http. */
  handoffs = 0;
}

class FastRequest implements ClientRequest {
  readonly httpVersion = '1.1';
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];

  constructor(
    head: SimpleRequestHead,
    readonly socket: Socket,
    readonly body: FastBody | null,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
  }

  get complete(): boolean {
    return this.body === null || this.body.complete;
  }

  get readableDidRead(): boolean {
    return this.body !== null && this.body.didRead;
  }

  /** The rest of the body is not wanted: read and dropped. */
  resume(): void {
    this.body?.discard();
  }
}

/** HTTP/1.1 keeps the connection unless a Connection field names "close". */
function keepsAlive(rawHeaders: string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === 10 && rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) if (token.trim().toLowerCase() === 'close') return false;
    }
  }
  return true;
}

/**
 * A client connection served without node:http while its requests are
 * simple (see request-head.ts): one request at a time, its body (of a known
 * length) streamed to its consumer, pipelined requests held until the
 * response before them is written. At the first request that is not
 * simple, the connection goes to node:http for good, with the bytes not yet
 * served.
 */
export class FastConnection implements ResponseOwner, BodyReader {
  #pending: Buffer | null = null;
  #response: FastResponse | null = null;
  /** The body of the request being served, while some of it is still to arrive. */
  #body: FastBody | null = null;
  /** A pipelined request is about to be served. */
  #queued = false;
  /** The client has not taken the answers written so far: nothing more is served until it does. */
  #awaitingDrain = false;
  /** No request was served yet. */
  #fresh = true;
  #timeoutMs: number;
  closing = false;

  constructor(
    readonly socket: Socket,
    private readonly timeouts: ClientTimeouts,
    private readonly handler: RequestHandler,
    private readonly handoff: Handoff,
    private readonly front: FastFront,
  ) {
    front.connections.add(this);
    this.#timeoutMs = timeouts.headersMs;
    socket.setTimeout(this.#timeoutMs);
    for (const [event, listener] of this.#socketListeners()) socket.on(event, listener);
  }

  /** Announced in Keep-Alive: timeout= (whole seconds, as node:http announces it). */
  get keepAliveSeconds(): number {
    return Math.floor(this.timeouts.keepAlive);
  }

  /** The socket's inactivity timeout, which means what the connection's state says (see #onTimeout). */
  #setTimeout(ms: number): void {
    if (ms === this.#timeoutMs) return;
    this.#timeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  #keepAliveTimeoutMs(): number {
    return this.timeouts.keepAlive * 1000 + KEEP_ALIVE_GRACE_MS;
  }

  #socketListeners(): [string, (...args: any[]) => void][] {
    return [
      ['data', this.#onData],
      ['end', this.#onEnd],
      ['timeout', this.#onTimeout],
      ['drain', this.#onDrain],
      ['error', this.#onError],
      ['close', this.#onClose],
    ];
  }

  get idle(): boolean {
    return this.#response === null && !this.#queued && !this.#awaitingDrain;
  }

  /** Graceful shutdown: the next response is the last; an idle connection closes after a grace period. */
  drain(): void {
    this.closing = true;
    setTimeout(() => {
      if (this.idle) this.socket.end();
    }, DRAIN_GRACE_MS).unref();
  }

  responseDone(response: FastResponse): void {
    if (response !== this.#response) return;
    this.#response = null;
    // Answered before its body was all sent (an error, a backend's early 413): the rest is read past.
    this.#body?.discard();
    if (!response.shouldKeepAlive || this.closing) {
      this.socket.end();
      return;
    }
    if (this.socket.writableNeedDrain) {
      // The client is not reading its answers: the next pipelined request waits until it does,
      // and past MAX_PENDING nothing more is read. If it takes nothing for idleTimeout, it is cut.
      this.#awaitingDrain = true;
      this.#setTimeout(this.timeouts.clientStall.ms);
      return;
    }
    this.#setTimeout(this.#keepAliveTimeoutMs());
    this.#serveNext();
  }

  #serveNext(): void {
    if (this.socket.isPaused()) this.socket.resume();
    if (this.#pending === null) return;
    this.#queued = true;
    // After the backend's data handler returns, so its connection is back in the pool first.
    queueMicrotask(this.#servePending);
  }

  readonly #servePending = (): void => {
    this.#queued = false;
    const data = this.#pending;
    this.#pending = null;
    if (data !== null && !this.socket.destroyed) this.#serve(data);
  };

  stopReading(): void {
    this.socket.pause();
  }

  startReading(): void {
    // Bytes after the body wait for the response as ever: only resume while they are under their bound.
    if (this.#pending === null || this.#pending.length <= MAX_PENDING) this.socket.resume();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.socket.writableEnded) return; // closing: nothing more is served
    if (this.#body !== null) {
      const taken = this.#body.take(chunk);
      if (this.#body.complete) this.#body = null;
      if (taken === chunk.length) return;
      chunk = chunk.subarray(taken);
    }
    if (!this.idle) {
      this.#pending = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
      if (this.#pending.length > MAX_PENDING) this.socket.pause();
      return;
    }
    this.#serve(chunk);
  };

  #serve(data: Buffer): void {
    const head = parseSimpleRequestHead(data);
    if (head === null) return this.#handOff(data);
    this.front.requests++;
    this.#fresh = false;
    let rest = data.subarray(head.length);
    let body: FastBody | null = null;
    if (head.contentLength > 0) {
      body = new FastBody(head.contentLength, this);
      rest = rest.subarray(body.take(rest));
      if (!body.complete) this.#body = body;
    }
    if (rest.length > 0) this.#pending = rest;
    const response = new FastResponse(this, head.method === 'HEAD', !this.closing && keepsAlive(head.rawHeaders));
    this.#response = response;
    this.handler(new FastRequest(head, this.socket, body), response, body);
  }

  #handOff(data: Buffer): void {
    const socket = this.socket;
    for (const [event, listener] of this.#socketListeners()) socket.off(event, listener);
    socket.setTimeout(0);
    this.front.connections.delete(this);
    this.front.handoffs++;
    // Bytes the paused stream buffered, behind the ones in hand.
    let unread = data;
    for (let more: Buffer | null = socket.read(); more !== null; more = socket.read()) unread = Buffer.concat([unread, more]);
    this.handoff(socket, unread);
  }

  /**
   * The client ended its side: as with node:http (whose httpAllowHalfOpen is
   * off), a request still under way is taken as abandoned: no answer, the
   * backend request aborted, the connection closed.
   */
  readonly #onEnd = (): void => {
    const response = this.#response;
    this.#response = null;
    this.#pending = null;
    this.#body = null;
    response?.clientGone();
    this.socket.end();
  };

  /**
   * The socket saw no byte either way for the timeout of the connection's
   * state: answers untaken for idleTimeout, an idle kept-alive connection,
   * or a new one that sent nothing within headersTimeout (408, as node:http
   * answers). While a request is under way, the backend's timeouts apply,
   * and idleTimeout to a client that stops reading (upstream/connection.ts).
   */
  readonly #onTimeout = (): void => {
    if (this.#awaitingDrain) {
      this.timeouts.clientStall.counters.stalledDownloads++;
      this.socket.destroy();
      return;
    }
    if (!this.idle) return;
    if (this.#fresh) this.socket.end(requestTimeout());
    else this.socket.destroy();
  };

  readonly #onDrain = (): void => {
    if (this.#awaitingDrain) {
      this.#awaitingDrain = false;
      this.#setTimeout(this.#keepAliveTimeoutMs());
      this.#serveNext();
      return;
    }
    this.#response?.drained();
  };

  readonly #onError = (): void => {
    // A TCP socket is destroyed already, and 'close' follows; a reset client is not worth a log line.
    // A TLS socket's error after its handshake (an alert, a refused renegotiation) leaves it open:
    // closed here, as node:http closes it.
    this.socket.destroy();
  };

  readonly #onClose = (): void => {
    this.front.connections.delete(this);
    const response = this.#response;
    this.#response = null;
    this.#pending = null;
    this.#body = null;
    response?.clientGone();
  };
}
