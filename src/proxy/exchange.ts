import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Route } from '../routing/table.js';
import { logger } from '../log.js';
import { pickBackend, type Pick } from './balancer.js';
import { forwardResponseHeaders } from './headers.js';
import { isUnhealthyStatus } from './health.js';
import type { ProxyContext } from './settings.js';

const log = logger('proxy');

/** Errors that happen before the backend accepted the connection: safe to retry, and a sign of a dead backend. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
/** A kept-alive connection the backend closed under us: retry, but the backend is fine. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** One client request on its way to a backend, across retries. */
export class Exchange {
  readonly started = performance.now();
  readonly tried: number[] = [];
  responded = false;
  clientGone = false;
  backendStarted = 0;
  #attempt: Attempt | null = null;

  constructor(
    readonly ctx: ProxyContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly host: string,
    readonly route: Route,
    readonly path: string,
    readonly headers: string[],
    readonly hasBody: boolean,
    readonly debug: boolean,
    readonly fail: (status: number, code: string) => void,
    /** Body bytes relayed to the client, for the access log. */
    readonly meter: { bytes: number },
  ) {
    res.once('close', () => {
      if (!res.writableFinished) {
        this.clientGone = true;
        this.#attempt?.abort?.(new Error('client closed the connection'));
      }
    });
  }

  start(): void {
    if (this.route.backends.length === 0) return this.fail(502, 'NO_BACKENDS');
    this.#next();
  }

  #next(): void {
    const pick = pickBackend(this.ctx.table, this.route, this.host, this.tried);
    if (pick === null) return this.fail(502, this.tried.length === 0 ? 'ALL_BACKENDS_DEAD' : 'NO_BACKEND_LEFT');
    this.tried.push(pick.index);
    const attempt = new Attempt(this, pick);
    this.#attempt = attempt;
    const timeout = (this.route.options?.tcpTimeout ?? 0) * 1000 || this.ctx.settings.tcpTimeoutMs;
    this.backendStarted = performance.now();
    try {
      this.ctx.pools.get(pick.target).dispatch(
        {
          path: pick.target.pathPrefix + this.path,
          method: this.req.method as Dispatcher.HttpMethod,
          headers: this.headers,
          body: this.hasBody ? this.req : null,
          headersTimeout: timeout,
          bodyTimeout: timeout,
          reset: !this.ctx.settings.keepAlive,
        },
        attempt,
      );
    } catch (err) {
      // undici validates headers synchronously: a header it cannot send is the client's fault.
      log.debug('request rejected before dispatch', { host: this.host, error: (err as Error).message });
      this.fail(400, 'INVALID_REQUEST');
    }
  }

  /** A failed attempt: retry on another backend when nothing was sent to the client and the body is intact. */
  failed(pick: Pick, err: Error & { code?: string }): void {
    const code = err.code ?? 'UNKNOWN';
    if (this.clientGone) return;
    if (this.responded) {
      log.warn('backend failed mid-response', { host: this.host, backend: pick.target.url, error: code });
      this.res.destroy();
      return;
    }
    const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    if (CONNECT_FAILURES.has(code) || timedOut) this.ctx.health.report(this.route, this.host, pick.index);
    log.info('backend attempt failed', { host: this.host, backend: pick.target.url, error: code });
    if (timedOut) return this.fail(504, 'BACKEND_TIMEOUT');
    const retryable = CONNECT_FAILURES.has(code) || STALE_CONNECTION.has(code);
    const bodyIntact = !this.hasBody || !this.req.readableDidRead;
    const retries = (this.route.options?.retryOnError ?? this.ctx.settings.retryOnError);
    if (retryable && bodyIntact && this.tried.length <= retries) return this.#next();
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_REQ_RETRY') return this.fail(400, 'BAD_REQUEST_BODY');
    this.fail(502, retryable ? 'BACKEND_UNAVAILABLE' : code);
  }

  debugHeaders(pick: Pick, headers: string[]): void {
    const now = performance.now();
    headers.push(
      'x-debug-backend-url', pick.target.url,
      'x-debug-backend-id', String(pick.index),
      'x-debug-vhost', this.route.id,
      'x-debug-frontend-key', `frontend:${this.route.key}`,
      'x-debug-time-total', (now - this.started).toFixed(3),
      'x-debug-time-backend', (now - this.backendStarted).toFixed(3),
    );
  }
}

/** undici handler for one attempt: streams the backend's answer to the client with backpressure. */
class Attempt implements Dispatcher.DispatchHandler {
  abort: ((err?: Error) => void) | undefined;

  constructor(
    private readonly ex: Exchange,
    private readonly pick: Pick,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.ex.clientGone) abort(new Error('client closed the connection'));
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true; // 1xx interim answers are not relayed
    const ex = this.ex;
    ex.responded = true;
    const { headers, retryAfter } = forwardResponseHeaders(rawHeaders);
    if (isUnhealthyStatus(status, retryAfter, ex.ctx.settings)) ex.ctx.health.report(ex.route, ex.host, this.pick.index);
    if (ex.debug) ex.debugHeaders(this.pick, headers);
    ex.res.writeHead(status, statusText || undefined, headers);
    this.#resume = resume;
    return true;
  }

  #resume: (() => void) | undefined;

  onData(chunk: Buffer): boolean {
    this.ex.meter.bytes += chunk.length;
    if (this.ex.res.write(chunk)) return true;
    // Backpressure: undici pauses until the client's socket drained (most answers never get here).
    this.ex.res.once('drain', this.#resume!);
    return false;
  }

  onComplete(): void {
    this.ex.res.end();
  }

  onError(err: Error): void {
    this.ex.failed(this.pick, err);
  }
}
