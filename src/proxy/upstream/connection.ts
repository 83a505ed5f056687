import type { Socket } from 'node:net';
import type { BackendTarget } from '../../frontends/backend.js';
import type { RequestBody } from '../client.js';
import { socketFailure, type BackendFailure } from '../failure.js';
import { requestHeadLines } from '../headers.js';
import type { ClientStallLimit } from '../limits.js';
import { dialBackend, readyEvent } from './dial.js';
import { ResponseParseError, ResponseParser, type ResponseHead, type ResponseSink } from './response-parser.js';
import type { BodyStallWatch } from './stall.js';

/** One request to a backend, as the proxy forwards it. */
export interface UpstreamRequest {
  method: string;
  /** Origin-form target, backend path prefix included. */
  path: string;
  /** Flat [name, value, ...]; framing (Content-Length) included, Transfer-Encoding not. */
  headers: string[];
  /** The client's body, streamed once the connection is up; null for none. */
  body: RequestBody | null;
  /** The body arrives without a length: send it chunked. */
  chunked: boolean;
  /** Idle time allowed while waiting on the backend (connect, response head, each body read). */
  timeoutMs: number;
  /** Close the connection after this exchange instead of pooling it. */
  close: boolean;
}

/**
 * What the proxy does with a backend's answer. `onData` returning false
 * pauses the backend until `resume()`; `last` says the chunk ends the body.
 */
export interface UpstreamHandler {
  /** Set when the exchange gets its connection (null while waiting for one). */
  connection: BackendConnection | null;
  onResponse(head: ResponseHead): void;
  onData(chunk: Buffer, last: boolean): boolean;
  onComplete(): void;
  onError(err: UpstreamError): void;
}

/** Why an exchange failed: `code` is one of the finite set in failure.ts; the socket's own error is in the message. */
export class UpstreamError extends Error {
  constructor(
    readonly code: BackendFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectionOwner {
  /** The exchange ended and the connection may carry another. */
  released(conn: BackendConnection): void;
  /** The connection is gone (closed, failed, or not reusable). */
  discarded(conn: BackendConnection): void;
}

/**
 * Plain-TCP backend reads (net's onread) land in one buffer shared by every
 * connection of the worker and are copied out at their size: for small
 * answers this is cheaper than the stream's own path, which allocates a
 * 64 KiB buffer per read and shrinks it. Reads are handled one at a time, so
 * sharing is safe as long as the shared buffer is never handed on.
 */
const READ_SIZE = 64 * 1024;
const SHARED_READ_BUFFER = Buffer.allocUnsafeSlow(READ_SIZE);
/**
 * A read at least this big means a large body is streaming: the connection
 * then reads into buffers of its own, handed on without a copy, a fresh one
 * per read (the stream's own cost, minus the shrink).
 */
const LARGE_READ = 16 * 1024;

const enum Phase {
  Idle,
  Waiting, // request sent (or sending), no answer yet
  Receiving,
}

/** A keep-alive connection to one backend, carrying one exchange at a time. */
export class BackendConnection implements ResponseSink {
  readonly socket: Socket;
  #connected = false;
  #gone = false;
  #phase = Phase.Idle;
  #handler: UpstreamHandler | null = null;
  #request: UpstreamRequest | null = null;
  #bodyDone = true;
  #paused = false;
  #completed = false;
  #keepAlive = false;
  #timeoutMs: number;
  /** The client's request body stall, watched while it is sent on. */
  #bodyWatch: BodyStallWatch | null = null;
  /** Armed while the answer is paused for a client that does not read. */
  #readStall: NodeJS.Timeout | undefined;
  readonly #parser = new ResponseParser(this);

  constructor(
    target: BackendTarget,
    timeoutMs: number,
    private readonly owner: ConnectionOwner,
    private readonly clientStall: ClientStallLimit,
  ) {
    this.#timeoutMs = timeoutMs;
    if (target.secure) {
      this.socket = dialBackend(target);
      this.socket.on('data', (data: Buffer) => this.#onData(data));
    } else {
      let next: Buffer = SHARED_READ_BUFFER;
      const callback = (n: number, buf: Uint8Array): boolean => {
        const data = buf === SHARED_READ_BUFFER ? Buffer.from(SHARED_READ_BUFFER.subarray(0, n)) : (buf as Buffer).subarray(0, n);
        next = n >= LARGE_READ ? Buffer.allocUnsafeSlow(READ_SIZE) : SHARED_READ_BUFFER;
        this.#onData(data);
        return true; // backpressure pauses the socket itself (onBody)
      };
      // Called after every read: the buffer the next read of this socket lands in.
      const buffer = (): Buffer => next;
      this.socket = dialBackend(target, { buffer, callback });
    }
    this.socket.setTimeout(timeoutMs);
    this.socket.once(readyEvent(target), () => {
      this.#connected = true;
      if (this.#request !== null) this.#streamBody();
    });
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.#lost(socketFailure(err, this.#connected), err.message));
    this.socket.on('close', () => this.#lost('UPSTREAM_CLOSED', 'backend closed the connection'));
    this.socket.on('timeout', () => this.#onTimeout());
    this.socket.on('drain', () => {
      if (this.#request !== null && !this.#bodyDone) this.#request.body!.resume();
    });
  }

  get idle(): boolean {
    return this.#phase === Phase.Idle && !this.#gone;
  }

  /** Sends `request`; the answer goes to `handler`. */
  start(request: UpstreamRequest, handler: UpstreamHandler, bodyWatch: BodyStallWatch | null = null): void {
    this.#request = request;
    this.#handler = handler;
    this.#bodyWatch = bodyWatch;
    handler.connection = this;
    this.#phase = Phase.Waiting;
    this.#paused = false;
    this.#completed = false;
    this.#bodyDone = request.body === null;
    if (request.timeoutMs !== this.#timeoutMs) {
      this.#timeoutMs = request.timeoutMs;
      this.socket.setTimeout(request.timeoutMs);
    }
    this.#parser.expect(request.method === 'HEAD');
    let head = requestHeadLines(request.method, request.path, request.headers);
    if (request.chunked) head += 'Transfer-Encoding: chunked\r\n';
    if (request.close) head += 'Connection: close\r\n';
    // Body bytes are read from the client only once the backend accepted the connection, so a refused connection can be retried with the body intact.
    const whole = this.#connected && !request.chunked ? (request.body?.takeWhole?.() ?? null) : null;
    if (whole !== null) {
      // A body already all here: head and body in one write (one system call, one segment when small).
      this.socket.cork();
      this.socket.write(head + '\r\n', 'latin1');
      this.socket.write(whole);
      this.socket.uncork();
      this.#bodyWatch?.moved(whole.length);
      this.#stopBody();
      return;
    }
    this.socket.write(head + '\r\n', 'latin1');
    if (this.#connected && request.body !== null) this.#streamBody();
  }

  /** The client left: drop the exchange and the connection with it. */
  abort(handler: UpstreamHandler): void {
    if (this.#handler !== handler) return;
    this.#detach();
    this.#destroy();
  }

  /** Closes the connection, failing its exchange if one is under way. */
  close(): void {
    this.#fail('POOL_CLOSED', 'the proxy is shutting down');
  }

  /** The client stalled `handler`'s exchange: it is cut, and this connection with it. */
  stalled(handler: UpstreamHandler, error: UpstreamError): void {
    if (this.#handler === handler) this.#fail(error.code, error.message);
  }

  /** The client drained: read on from the backend. */
  resume(handler: UpstreamHandler): void {
    if (this.#handler !== handler || !this.#paused) return;
    this.#paused = false;
    clearTimeout(this.#readStall);
    this.socket.resume();
  }

  // --- request body ---

  #streamBody(): void {
    const body = this.#request!.body;
    if (body === null || this.#bodyDone) return;
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
  }

  readonly #onBodyData = (chunk: Buffer): void => {
    this.#bodyWatch?.moved(chunk.length);
    const socket = this.socket;
    let ok: boolean;
    if (this.#request!.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else ok = socket.write(chunk);
    if (!ok) this.#request!.body!.pause();
  };

  readonly #onBodyEnd = (): void => {
    if (this.#request!.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.#stopBody();
    this.#settle();
  };

  #stopBody(): void {
    this.#bodyWatch?.stop();
    this.#bodyWatch = null;
    const body = this.#request?.body;
    if (body == null || this.#bodyDone) return;
    this.#bodyDone = true;
    body.off('data', this.#onBodyData);
    body.off('end', this.#onBodyEnd);
  }

  // --- response ---

  #onData(data: Buffer): void {
    if (this.#handler === null) {
      // Bytes on an idle connection: the backend is out of step with us.
      this.#destroy();
      return;
    }
    try {
      this.#parser.execute(data);
    } catch (err) {
      if (err instanceof ResponseParseError) return this.#fail(err.code, err.message);
      throw err;
    }
    if (this.#completed) {
      if (this.#parser.extraData) this.#keepAlive = false;
      this.#settle();
    }
  }

  onHead(head: ResponseHead): void {
    this.#phase = Phase.Receiving;
    this.#keepAlive = head.keepAlive && !this.#request!.close;
    this.#handler!.onResponse(head);
  }

  onBody(chunk: Buffer, last: boolean): void {
    if (this.#handler === null) return;
    if (!this.#handler.onData(chunk, last) && !this.#paused) {
      this.#paused = true;
      this.socket.pause();
      // Held for a client that does not read: released if it reads nothing for idleTimeout (SPEC §6).
      this.#readStall = setTimeout(this.#readStalled, this.clientStall.ms).unref();
    }
  }

  readonly #readStalled = (): void => {
    this.clientStall.counters.stalledDownloads++;
    this.#fail('CLIENT_READ_TIMEOUT', `the client read nothing of the answer for ${this.clientStall.ms / 1000} s`);
  };

  onComplete(): void {
    this.#completed = true;
    const handler = this.#handler!;
    // The client gets its answer now; the connection is settled once the request body is sent too.
    handler.onComplete();
  }

  /** Both directions done: pool the connection or close it. */
  #settle(): void {
    if (!this.#completed || this.#handler === null) return;
    if (!this.#bodyDone) {
      // The backend answered before reading the whole request body (a 413, say): the rest cannot be sent on.
      this.#detach();
      this.#destroy();
      return;
    }
    this.#detach();
    if (!this.#keepAlive || this.#paused) return this.#destroy();
    this.owner.released(this);
  }

  #onEnd(): void {
    if (this.#handler !== null && this.#parser.readsUntilClose) {
      this.#parser.end();
      this.#settle();
      return;
    }
    this.#lost('UPSTREAM_CLOSED', 'backend closed the connection');
  }

  /**
   * The connection ended or failed. Once a byte of the answer arrived, the
   * backend has acted on the request: whatever the socket says, the answer
   * was cut short (and must not be asked for again elsewhere).
   */
  #lost(failure: BackendFailure, message: string): void {
    if (this.#handler !== null && this.#parser.started) return this.#fail('RESPONSE_TRUNCATED', `backend answer cut short: ${message}`);
    this.#fail(failure, message);
  }

  #onTimeout(): void {
    if (this.#handler === null) return this.#destroy(); // idle for tcpTimeout: let it go
    if (!this.#connected) return this.#fail('CONNECT_TIMEOUT', 'connecting to the backend timed out');
    if (this.#paused) return; // waiting on a slow client, not on the backend (idleTimeout applies)
    // Waiting on the client's upload (idleTimeout applies), unless the backend stopped taking it.
    if (this.#phase === Phase.Waiting && !this.#bodyDone && !this.socket.writableNeedDrain) return;
    this.#fail(this.#phase === Phase.Waiting ? 'HEADERS_TIMEOUT' : 'BODY_TIMEOUT', 'backend timed out');
  }

  #fail(code: BackendFailure, message: string): void {
    const handler = this.#handler;
    this.#detach();
    this.#destroy();
    if (handler === null) return;
    handler.onError(new UpstreamError(code, message));
  }

  #detach(): void {
    this.#stopBody();
    clearTimeout(this.#readStall);
    this.#handler = null;
    this.#request = null;
    this.#phase = Phase.Idle;
  }

  #destroy(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.socket.destroy();
    this.owner.discarded(this);
  }
}
