import type { Readable } from 'node:stream';
import type { Route } from '../routing/table.js';
import { logger } from '../log.js';
import { pickBackend, type Pick } from './balancer.js';
import type { ClientRequest, ClientResponse } from './client.js';
import { isUnhealthyStatus, judge, type ErrorCode } from './failure.js';
import { forwardResponseHeaders } from './headers.js';
import { backendTimeoutMs, retriesFor, type ProxyContext } from './settings.js';
import type { BackendConnection, UpstreamError, UpstreamHandler } from './upstream/connection.js';
import { ResponseParseError, type ResponseHead } from './upstream/response-parser.js';

const log = logger('proxy');

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
    readonly req: ClientRequest,
    readonly res: ClientResponse,
    readonly host: string,
    readonly route: Route,
    readonly path: string,
    readonly headers: string[],
    /** The request body, null for none. */
    readonly body: Readable | null,
    /** The body comes without a length (Transfer-Encoding: chunked). */
    readonly chunked: boolean,
    readonly debug: boolean,
    readonly fail: (status: number, code: ErrorCode) => void,
    /** Body bytes relayed to the client, for the access log. */
    readonly meter: { bytes: number },
  ) {
    res.once('close', () => {
      if (!res.writableFinished) {
        this.clientGone = true;
        this.#attempt?.abort();
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
    this.backendStarted = performance.now();
    this.ctx.pools.get(pick.target).dispatch(
      {
        method: this.req.method!,
        path: pick.target.pathPrefix + this.path,
        headers: this.headers,
        body: this.body,
        chunked: this.chunked,
        timeoutMs: backendTimeoutMs(this.ctx.settings, this.route),
        close: !this.ctx.settings.keepAlive,
      },
      attempt,
    );
  }

  /** A failed attempt: failure.ts decides whether to mark, retry or answer. */
  failed(pick: Pick, err: UpstreamError): void {
    if (this.clientGone) return;
    const verdict = judge(err.code, this.responded, this.body === null || !this.req.readableDidRead);
    if (verdict.markDead) this.ctx.health.report(this.route, this.host, pick.index);
    if (verdict.status === null) {
      log.warn('backend failed mid-response', { host: this.host, backend: pick.target.url, error: err.code });
      this.res.destroy();
      return;
    }
    log.info('backend attempt failed', { host: this.host, backend: pick.target.url, error: err.code, detail: err.message });
    if (verdict.retry && this.tried.length <= retriesFor(this.ctx.settings, this.route)) return this.#next();
    this.fail(verdict.status, verdict.code);
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

/** One attempt on one backend: streams its answer to the client with backpressure. */
class Attempt implements UpstreamHandler {
  connection: BackendConnection | null = null;
  #ended = false;

  constructor(
    private readonly ex: Exchange,
    private readonly pick: Pick,
  ) {}

  /** The client left: drop the backend exchange, queued or under way. */
  abort(): void {
    if (this.connection !== null) this.connection.abort(this);
    else this.ex.ctx.pools.get(this.pick.target).cancel(this);
  }

  onResponse(head: ResponseHead): void {
    const ex = this.ex;
    const { headers, retryAfter } = forwardResponseHeaders(head.headers);
    if (isUnhealthyStatus(head.status, retryAfter, ex.ctx.settings)) ex.ctx.health.report(ex.route, ex.host, this.pick.index);
    if (ex.debug) ex.debugHeaders(this.pick, headers);
    try {
      ex.res.writeHead(head.status, head.statusText || undefined, headers);
    } catch (err) {
      // A header Node refuses to send (a control character, a name that is not a token): the answer cannot be relayed.
      throw new ResponseParseError(`backend answer cannot be relayed: ${(err as Error).message}`);
    }
    ex.responded = true;
  }

  onData(chunk: Buffer, last: boolean): boolean {
    const res = this.ex.res;
    this.ex.meter.bytes += chunk.length;
    if (last) {
      // The whole remaining body: head and body leave in one write.
      this.#ended = true;
      res.end(chunk);
      return true;
    }
    if (res.write(chunk)) return true;
    // Backpressure: the backend is paused until the client's socket drained (most answers never get here).
    res.once('drain', () => this.connection?.resume(this));
    return false;
  }

  onComplete(): void {
    if (!this.#ended) this.ex.res.end();
    // A backend may answer before reading the whole body (a 413): discard the rest so the client connection stays usable.
    if (!this.ex.req.complete) this.ex.req.resume();
  }

  onError(err: UpstreamError): void {
    this.ex.failed(this.pick, err);
  }
}
