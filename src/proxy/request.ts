import { STATUS_CODES } from 'node:http';
import { normalizeHost, splitAbsoluteTarget } from '../frontends/host.js';
import { deadMarksName, prefixStart, stripPrefix } from '../frontends/path.js';
import type { Route } from '../routing/table.js';
import type { ClientRequest, ClientResponse, RequestBody } from './client.js';
import { connectionClient } from './client-identity.js';
import { Exchange, type ClientSide, type Destination } from './exchange.js';
import type { ErrorCode } from './failure.js';
import { forwardRequestHeaders, scanRequestHead, type RequestHeadFields } from './headers.js';
import { httpsLocation, isAcmeChallenge, redirectsToHttps, stsValue } from './https-policy.js';
import { RequestRecord } from './request-end.js';
import { requestIdFor } from './request-id.js';
import type { ProxyContext } from './settings.js';

export interface Target {
  host: string;
  path: string;
  /** Set for an absolute-form request: the Host sent to the backend. */
  hostOverride: string | null;
}

const PONG = Buffer.from('ok');

/**
 * Where a request goes, from its target and Host (RFC 9112 §3.2.2), or null
 * when it names no host or has more than one Host field (§3.2).
 */
export function requestTarget(req: { readonly url?: string | undefined }, fields: Pick<RequestHeadFields, 'host' | 'hostRepeated'>): Target | null {
  if (fields.hostRepeated) return null;
  const url = req.url ?? '';
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') {
    const host = normalizeHost(fields.host);
    return host === null ? null : { host, path: url, hostOverride: null };
  }
  const absolute = splitAbsoluteTarget(url);
  if (absolute === null) return null;
  const host = normalizeHost(absolute.authority);
  return host === null ? null : { host, path: absolute.path, hostOverride: absolute.authority };
}

/** The route for a host and path once every source is current for them; `done` gets null for an unknown host. */
export function resolveRoute(ctx: ProxyContext, host: string, path: string, done: (route: Route | null | 'not-loaded') => void): void {
  const lookup = () => done(ctx.table.loaded ? ctx.table.lookup(host, path) ?? null : 'not-loaded');
  if (!ctx.whenCurrent(host, lookup, path)) lookup();
}

/** Where a routed request goes, and the path its backend gets: without the prefix of a stripPrefix path frontend. */
export function destinationOf(host: string, route: Route, path: string): { to: Destination; path: string } {
  const to = { host, route, marks: deadMarksName(host, route.key) };
  if (route.options?.stripPrefix !== true) return { to, path };
  const start = prefixStart(route.key);
  return { to, path: start === -1 ? path : stripPrefix(path, route.key.length - start) };
}

/**
 * The HTTP request handler: route, then forward (see Exchange). `body` is
 * the request body stream (node:http's request itself); null when the
 * request has none.
 */
export function handleRequest(ctx: ProxyContext, req: ClientRequest, res: ClientResponse, body: RequestBody | null): void {
  if (afterLastAnswer(req, res)) return;
  const fields = scanRequestHead(req.rawHeaders);
  const from = connectionClient(req.socket);
  // X-Debug from an untrusted client is as if not sent: its headers reveal backend addresses.
  const client = new Client(ctx, req, res, fields.debug && from.trusted, fields.hasBody, from.remoteAddress, requestIdFor(fields.requestId, from.trusted));
  const target = requestTarget(req, fields);
  if (target === null) {
    client.host = fields.host ?? null;
    return client.fail(400, 'MISSING_OR_INVALID_HOST');
  }
  client.host = target.host;
  if (target.host === '__ping__') {
    res.writeHead(200, undefined, ['Content-Type', 'text/plain', 'Content-Length', '2', 'X-Request-Id', client.requestId]);
    client.bytes = PONG.length; // before end(): the fast front end's 'close' comes within it
    res.end(PONG);
    return;
  }
  const headers = forwardRequestHeaders(req.rawHeaders, from, fields.connection, target.hostOverride, false, client.requestId);
  if (headers === null) {
    res.shouldKeepAlive = false; // the body's end is unknowable: the connection cannot be reused
    return client.fail(400, 'AMBIGUOUS_FRAMING');
  }
  // Behind a load balancer that terminates TLS, the client's side is HTTPS if it says so.
  const secure = from.secure || (from.trusted && fields.forwardedHttps);
  const forward = (): void => routeRequest(ctx, client, target, secure, fields.hasBody ? body : null, fields.chunked, headers);
  // The proxy's own HTTP-01 answer comes before routing (the host may have no backend up yet); a token
  // it does not hold goes on to the backend, whose own ACME client may be waiting for it.
  if (ctx.challenges !== null && !from.secure && req.method === 'GET' && isAcmeChallenge(target.path)) {
    const token = target.path.slice(target.path.lastIndexOf('/') + 1);
    return ctx.challenges.answer(target.host, token, (keyAuthorization) => (keyAuthorization === null ? forward() : client.acme(keyAuthorization)));
  }
  forward();
}

function routeRequest(ctx: ProxyContext, client: Client, target: Target, secure: boolean, body: RequestBody | null, chunked: boolean, headers: string[]): void {
  resolveRoute(ctx, target.host, target.path, (route) => {
    if (route === 'not-loaded') return client.fail(503, 'NO_CONFIGURATION_YET');
    if (route === null) return client.fail(400, 'UNKNOWN_HOST');
    client.frontend = route.key;
    if (redirectsToHttps(route, secure, target.path)) {
      const location = httpsLocation(target.host, target.path, ctx.settings.httpsPort);
      return location === null ? client.fail(400, 'MISSING_OR_INVALID_HOST') : client.redirect(location);
    }
    client.sts = stsValue(route, secure);
    client.secure = secure;
    const { to, path } = destinationOf(target.host, route, target.path);
    const exchange = new Exchange(ctx, client, to, { path, headers, body, chunked });
    client.exchange = exchange;
    exchange.start();
  });
}

/**
 * node:http reads pipelined requests ahead and hands each over at once, even
 * when an answer before it will close the connection (a 400 closes it): such
 * a request is never answered, so it must not reach a backend either.
 */
function afterLastAnswer(req: ClientRequest, res: ClientResponse): boolean {
  const current = (req.socket as { _httpMessage?: ClientResponse | null })._httpMessage;
  return current != null && current !== res && !current.shouldKeepAlive;
}

/**
 * The client's side of one request (see ClientSide), and what is learnt of
 * it on the way (RequestRecord), told once when its response closes.
 */
class Client extends RequestRecord implements ClientSide {
  declare readonly req: ClientRequest;
  exchange: Exchange | null = null;
  sts: string | null = null;
  secure = false;

  constructor(
    ctx: ProxyContext,
    req: ClientRequest,
    readonly res: ClientResponse,
    readonly debug: boolean,
    /** The request has a body, which may be left unread when the answer is an error. */
    readonly hasBody: boolean,
    remoteAddress: string,
    requestId: string,
  ) {
    super(ctx, req, remoteAddress, requestId);
    // The request's one 'close' listener: the end of an answer, or the client gone before it.
    res.once('close', this.#closed);
  }

  readonly #closed = (): void => {
    const res = this.res;
    if (!res.writableFinished) this.exchange?.clientLeft();
    else this.exchange?.settled();
    this.status = res.headersSent ? res.statusCode : 499; // nginx's "client closed request"
    this.ended();
  };

  /** Answers with an error page (or drops the connection when the answer has started). */
  fail(status: number, code: ErrorCode): void {
    const res = this.res;
    this.error = code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = this.ctx.errorPages.body(status);
    const headers = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(body.length), 'Cache-Control', 'no-store', 'X-Request-Id', this.requestId];
    if (status === 503) headers.push('Retry-After', '1');
    if (this.sts) headers.push('Strict-Transport-Security', this.sts);
    if (this.debug) headers.push('x-debug-error', code);
    // A 400 means the request is wrong, or names no host served here: the client is
    // confused about this connection, so it ends (as nginx does), on either front end.
    if (status === 400) res.shouldKeepAlive = false;
    this.#answer(status, headers, body);
  }

  /** A redirectHttps vhost's answer to plain HTTP: 308 keeps the method and the body for the new URL; nothing reaches a backend. */
  redirect(location: string): void {
    this.#answer(308, ['Location', location, 'Content-Length', '0', 'X-Request-Id', this.requestId], null);
  }

  /** The key authorization of an ACME HTTP-01 challenge this proxy holds (RFC 8555 §8.3). */
  acme(keyAuthorization: string): void {
    const body = Buffer.from(keyAuthorization);
    this.#answer(200, ['Content-Type', 'text/plain', 'Content-Length', String(body.length), 'Cache-Control', 'no-store', 'X-Request-Id', this.requestId], body);
  }

  /** The proxy's own answer, written through either front end's ClientResponse. */
  #answer(status: number, headers: string[], body: Buffer | null): void {
    const { req, res } = this;
    // An unread request body would be taken as the next request: the connection closes.
    if (this.hasBody && !req.complete) res.shouldKeepAlive = false;
    res.writeHead(status, STATUS_CODES[status], headers);
    if (body === null || req.method === 'HEAD') return void res.end();
    this.bytes = body.length; // before end(): the fast front end's 'close' comes within it
    res.end(body);
  }
}
