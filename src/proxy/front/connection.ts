import type { Socket } from 'node:net';
import type { ClientRequest, ClientResponse } from '../client.js';
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

export type RequestHandler = (req: ClientRequest, res: ClientResponse) => void;
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
  readonly complete = true;
  readonly readableDidRead = false;
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];

  constructor(
    head: SimpleRequestHead,
    readonly socket: Socket,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
  }

  resume(): void {}
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
 * simple (see request-head.ts): one request at a time, pipelined requests
 * held until the response before them is written. At the first request that
 * is not simple, the connection goes to node:http for good, with the bytes
 * not yet served.
 */
export class FastConnection implements ResponseOwner {
  #pending: Buffer | null = null;
  #response: FastResponse | null = null;
  /** A pipelined request is about to be served. */
  #queued = false;
  closing = false;

  constructor(
    readonly socket: Socket,
    readonly keepAliveSeconds: number,
    private readonly handler: RequestHandler,
    private readonly handoff: Handoff,
    private readonly front: FastFront,
  ) {
    front.connections.add(this);
    socket.setTimeout(keepAliveSeconds * 1000);
    for (const [event, listener] of this.#socketListeners()) socket.on(event, listener);
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
    return this.#response === null && !this.#queued;
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
    if (!response.shouldKeepAlive || this.closing) {
      this.socket.end();
      return;
    }
    if (this.#pending !== null) {
      this.#queued = true;
      if (this.socket.isPaused()) this.socket.resume();
      // After the backend's data handler returns, so its connection is back in the pool first.
      queueMicrotask(this.#servePending);
    }
  }

  readonly #servePending = (): void => {
    this.#queued = false;
    const data = this.#pending;
    this.#pending = null;
    if (data !== null && !this.socket.destroyed) this.#serve(data);
  };

  readonly #onData = (chunk: Buffer): void => {
    if (this.socket.writableEnded) return; // closing: nothing more is served
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
    if (data.length > head.length) this.#pending = data.subarray(head.length);
    const response = new FastResponse(this, head.method === 'HEAD', !this.closing && keepsAlive(head.rawHeaders));
    this.#response = response;
    this.handler(new FastRequest(head, this.socket), response);
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
    response?.clientGone();
    this.socket.end();
  };

  /** Idle for the keep-alive timeout. While a request is under way the backend's own timeout applies. */
  readonly #onTimeout = (): void => {
    if (this.idle) this.socket.destroy();
  };

  readonly #onDrain = (): void => {
    this.#response?.drained();
  };

  readonly #onError = (): void => {
    // 'close' follows; a reset client is not worth a log line.
  };

  readonly #onClose = (): void => {
    this.front.connections.delete(this);
    const response = this.#response;
    this.#response = null;
    this.#pending = null;
    response?.clientGone();
  };
}
