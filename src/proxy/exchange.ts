import type { Route } from '../routing/table.js';
import { logger } from '../log.js';
import type { BackendTarget } from '../frontends/backend.js';
import { pickBackend, type Pick } from './balancer.js';
import type { ClientRequest, ClientResponse, RequestBody } from './client.js';
import { isIdempotent, isUnhealthyStatus, judge, type ErrorCode } from './failure.js';
import { forwardResponseHeaders } from './headers.js';
import type { RequestOutcome } from './outcome.js';
import { backendTimeoutMs, retriesFor, type ProxyContext } from './settings.js';
import { stickyCookie, stickyDecision, stickyName, stickySetCookie } from './sticky.js';
import type { BackendConnection, UpstreamError, UpstreamHandler } from './upstream/connection.js';
import { ResponseParseError, type ResponseHead } from './upstream/response-parser.js';

const log = logger('proxy');

/**
 * The client's side of one request: where the answer goes, and where what
 * the exchange learns is kept for the request's end (RequestOutcome: the
 * backend tried, retries, time spent on backends, the error).
 */
export interface ClientSide extends RequestOutcome {
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  /** X-Debug was sent: answers carry x-debug-* headers. */
  readonly debug: boolean;
  /** The vhost's Strict-Transport-Security for this connection (https-policy.ts `stsValue`): null, the backend's is relayed; '': none. */
  readonly sts: string | null;
  /** The client's side is HTTPS (directly, or said so by a trusted TLS-terminating peer): a sticky cookie is Secure. */
  readonly secure: boolean;
  /** Answers with an error page (or drops the connection when the answer has started). */
  fail(status: number, code: ErrorCode): void;
}

/** Where the request goes: the requested host and the route it resolved to. */
export interface Destination {
  readonly host: string;
  readonly route: Route;
  /** The name its dead marks are kept under: the host, or for a path frontend the host and prefix (path.ts deadMarksName). */
  readonly marks: string;
}

/** What is sent on to the backend. */
export interface Forwarded {
  /** Origin-form path, without the backend's path prefix. */
  readonly path: string;
  readonly headers: string[];
  /** The request body, null for none. */
  readonly body: RequestBody | null;
  /** The body comes without a length (Transfer-Encoding: chunked). */
  readonly chunked: boolean;
}

/** One client request on its way to a backend, across retries. */
export class Exchange {
  readonly started = performance.now();
  readonly tried: number[] = [];
  responded = false;
  clientGone = false;
  backendStarted = 0;
  /** The sticky cookie's value in the request (sticky.ts), when the route is sticky and one was sent. */
  wanted: string | null = null;
  #attempt: Attempt | null = null;
  /** The backend counted in flight for the attempt under way (BackendLoad), until it ends. */
  #counted: BackendTarget | null = null;

  constructor(
    readonly ctx: ProxyContext,
    readonly client: ClientSide,
    readonly to: Destination,
    readonly forwarded: Forwarded,
  ) {}

  /** The client left before its answer was written out: drop the backend exchange. */
  clientLeft(): void {
    this.clientGone = true;
    this.#attempt?.abort();
    this.settled();
  }

  /** The attempt under way is over (answered, failed, abandoned): its backend has one request less in flight. Idempotent. */
  settled(): void {
    const counted = this.#counted;
    if (counted === null) return;
    this.#counted = null;
    this.ctx.load.ended(counted);
  }

  start(): void {
    const route = this.to.route;
    if (route.backends.length === 0) {
      this.ctx.traffic.backendError('NO_BACKENDS');
      return this.client.fail(502, 'NO_BACKENDS');
    }
    const sticky = route.options?.sticky;
    if (sticky !== undefined) this.wanted = stickyCookie(this.client.req.rawHeaders, sticky.cookie);
    this.#next();
  }

  #next(): void {
    const { marks, route } = this.to;
    const pick = pickBackend(this.ctx.table, route, marks, this.tried, this.ctx.load, this.wanted);
    if (pick === null) {
      if (this.tried.length === 0) this.ctx.traffic.backendError('ALL_BACKENDS_DEAD');
      return this.client.fail(502, this.tried.length === 0 ? 'ALL_BACKENDS_DEAD' : 'NO_BACKEND_LEFT');
    }
    this.tried.push(pick.index);
    this.ctx.load.started(pick.target);
    this.#counted = pick.target;
    const attempt = new Attempt(this, pick);
    this.#attempt = attempt;
    const forwarded = this.forwarded;
    this.backendStarted = performance.now();
    const client = this.client;
    client.backend = pick.target.url;
    client.retries = this.tried.length - 1;
    if (client.upstreamStarted < 0) client.upstreamStarted = this.backendStarted;
    client.upstreamEnded = -1;
    this.ctx.pools.get(pick.target).dispatch(
      {
        method: this.client.req.method!,
        path: pick.target.pathPrefix + forwarded.path,
        headers: forwarded.headers,
        body: forwarded.body,
        chunked: forwarded.chunked,
        timeoutMs: backendTimeoutMs(this.ctx.settings, route),
        close: !this.ctx.settings.keepAlive,
      },
      attempt,
    );
  }

  /** A failed attempt: failure.ts decides whether to mark, retry or answer. */
  failed(pick: Pick, err: UpstreamError): void {
    this.settled();
    if (this.clientGone) return;
    const { ctx, to, client } = this;
    ctx.traffic.backendError(err.code);
    const verdict = judge(err.code, this.responded, this.forwarded.body === null || !client.req.readableDidRead, isIdempotent(client.req.method!));
    client.upstreamEnded = performance.now();
    if (verdict.markDead) ctx.health.report(to.route, to.marks, pick.index, 'connection');
    if (verdict.status === null) {
      log.warn('backend failed mid-response', { host: to.host, backend: pick.target.url, error: err.code });
      client.error = verdict.code;
      client.res.destroy();
      return;
    }
    log.info('backend attempt failed', { host: to.host, backend: pick.target.url, error: err.code, detail: err.message });
    if (verdict.retry && this.tried.length <= retriesFor(ctx.settings, to.route)) {
      ctx.traffic.retries++;
      return this.#next();
    }
    client.fail(verdict.status, verdict.code);
  }

  /** A sticky route's answer names its backend in the cookie, unless the request's cookie already did. */
  stickyHeaders(pick: Pick, headers: string[]): void {
    const sticky = this.to.route.options?.sticky;
    if (sticky === undefined || this.wanted === stickyName(pick.target)) return;
    headers.push('Set-Cookie', stickySetCookie(sticky.cookie, pick.target, this.client.secure));
  }

  debugHeaders(pick: Pick, headers: string[]): void {
    const now = performance.now();
    const route = this.to.route;
    headers.push(
      'x-debug-backend-url', pick.target.url,
      'x-debug-backend-id', String(pick.index),
      'x-debug-vhost', route.id,
      'x-debug-frontend-key', route.key, // as Hipache sent it: the key without its "frontend:" prefix
      'x-debug-time-total', (now - this.started).toFixed(3),
      'x-debug-time-backend', (now - this.backendStarted).toFixed(3),
    );
    if (route.options?.sticky !== undefined) headers.push('x-debug-sticky', stickyDecision(this.wanted, pick.target));
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
    const { headers, retryAfter } = forwardResponseHeaders(head.headers, head.contentLength, ex.client.requestId, ex.client.sts);
    if (isUnhealthyStatus(head.status, retryAfter, ex.ctx.settings)) ex.ctx.health.report(ex.to.route, ex.to.marks, this.pick.index, 'answer');
    ex.stickyHeaders(this.pick, headers);
    if (ex.client.debug) ex.debugHeaders(this.pick, headers);
    try {
      ex.client.res.writeHead(head.status, head.statusText || undefined, headers);
    } catch (err) {
      // A header Node refuses to send (a control character, a name that is not a token): the answer cannot be relayed.
      throw new ResponseParseError(`backend answer cannot be relayed: ${(err as Error).message}`);
    }
    ex.responded = true;
  }

  onData(chunk: Buffer, last: boolean): boolean {
    const client = this.ex.client;
    const res = client.res;
    client.bytes += chunk.length;
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
    this.ex.settled();
    const client = this.ex.client;
    client.upstreamEnded = performance.now();
    if (!this.#ended) client.res.end();
    // A backend may answer before reading the whole body (a 413): discard the rest so the client connection stays usable.
    if (!client.req.complete) client.req.resume();
  }

  onError(err: UpstreamError): void {
    this.ex.failed(this.pick, err);
  }
}
