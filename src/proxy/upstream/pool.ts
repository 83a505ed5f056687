import type { BackendTarget } from '../../frontends/backend.js';
import type { ClientStallLimit } from '../limits.js';
import { BackendConnection, UpstreamError, type ConnectionOwner, type UpstreamHandler, type UpstreamRequest } from './connection.js';
import { BodyStallWatch } from './stall.js';

export interface PoolOptions {
  /** Connections per backend origin, busy and idle together (Hipache's maxSockets). */
  maxSockets: number;
  /** Default idle timeout of a connection; a request may carry its own. */
  timeoutMs: number;
  /** How long a client may stall an exchange (server.idleTimeout). */
  clientStall: ClientStallLimit;
}

interface Queued {
  request: UpstreamRequest;
  handler: UpstreamHandler;
  watch: BodyStallWatch | null;
}

/**
 * Keep-alive connections to one backend origin. The most recently used idle
 * connection goes first (its peer is least likely to have timed it out);
 * beyond maxSockets, requests wait in order.
 */
export class BackendPool implements ConnectionOwner {
  readonly #idle: BackendConnection[] = [];
  readonly #all = new Set<BackendConnection>();
  readonly #queue: Queued[] = [];
  #closing = false;
  #closed: (() => void) | null = null;

  constructor(
    private readonly target: BackendTarget,
    private readonly options: PoolOptions,
  ) {}

  get size(): number {
    return this.#all.size;
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.#closing) return handler.onError(new UpstreamError('POOL_CLOSED', 'the proxy is shutting down'));
    const watch = this.#watchBody(request, handler);
    let conn = this.#idle.pop();
    if (conn === undefined) {
      if (this.#all.size >= this.options.maxSockets) {
        this.#queue.push({ request, handler, watch });
        return;
      }
      conn = this.#connect(request.timeoutMs);
    }
    conn.start(request, handler, watch);
  }

  /** Drops a request still waiting for a connection (its client left). */
  cancel(handler: UpstreamHandler): void {
    const i = this.#queue.findIndex((q) => q.handler === handler);
    if (i !== -1) this.#queue.splice(i, 1)[0]!.watch?.stop();
  }

  /** A request body's stall is watched from here on, queued or on its way (see BodyStallWatch). */
  #watchBody(request: UpstreamRequest, handler: UpstreamHandler): BodyStallWatch | null {
    if (request.body === null) return null;
    const limit = this.options.clientStall;
    return new BodyStallWatch(request.body, limit.ms, () => {
      limit.counters.stalledUploads++;
      const error = new UpstreamError('CLIENT_BODY_TIMEOUT', `the client sent no byte of its request body for ${limit.ms / 1000} s`);
      if (handler.connection !== null) return handler.connection.stalled(handler, error);
      this.cancel(handler);
      handler.onError(error);
    });
  }

  released(conn: BackendConnection): void {
    if (this.#closing) return conn.close();
    const next = this.#queue.shift();
    if (next !== undefined) return conn.start(next.request, next.handler, next.watch);
    this.#idle.push(conn);
  }

  discarded(conn: BackendConnection): void {
    this.#all.delete(conn);
    const i = this.#idle.lastIndexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    if (this.#closing) {
      if (this.#all.size === 0) this.#closed?.();
      return;
    }
    const next = this.#queue.shift();
    if (next !== undefined) this.#connect(next.request.timeoutMs).start(next.request, next.handler, next.watch);
  }

  #connect(timeoutMs: number): BackendConnection {
    const conn = new BackendConnection(this.target, timeoutMs || this.options.timeoutMs, this, this.options.clientStall);
    this.#all.add(conn);
    return conn;
  }

  /** Idle connections close now; busy ones when their exchange ends, or after `graceMs`. */
  close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const q of this.#queue.splice(0)) {
      q.watch?.stop();
      q.handler.onError(new UpstreamError('POOL_CLOSED', 'the proxy is shutting down'));
    }
    for (const conn of this.#idle.splice(0)) conn.close();
    if (this.#all.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const conn of [...this.#all]) conn.close();
        resolve();
      }, graceMs);
      this.#closed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
