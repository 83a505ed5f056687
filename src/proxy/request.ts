import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { normalizeHost, splitAbsoluteTarget } from '../frontends/host.js';
import type { Route } from '../routing/table.js';
import type { ClientRequest, ClientResponse } from './client.js';
import { connectionClient } from './client-identity.js';
import { Exchange, type ClientSide } from './exchange.js';
import type { ErrorCode } from './failure.js';
import { forwardRequestHeaders, scanRequestHead, type RequestHeadFields } from './headers.js';
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

/** The route for a host once every source is current for it; `done` gets null for an unknown host. */
export function resolveRoute(ctx: ProxyContext, host: string, done: (route: Route | null | 'not-loaded') => void): void {
  const lookup = () => done(ctx.table.loaded ? ctx.table.lookup(host) ?? null : 'not-loaded');
  if (!ctx.whenCurrent(host, lookup)) lookup();
}

/**
 * The HTTP request handler: route, then forward (see Exchange). `body` is
 * the request body stream (node:http's request itself); null when the
 * request has none.
 */
export function handleRequest(ctx: ProxyContext, req: ClientRequest, res: ClientResponse, body: Readable | null): void {
  if (afterLastAnswer(req, res)) return;
  const fields = scanRequestHead(req.rawHeaders);
  const from = connectionClient(req.socket);
  // X-Debug from an untrusted client is as if not sent: its headers reveal backend addresses.
  const client = new Client(ctx, req, res, fields.debug && from.trusted, fields.hasBody);
  if (ctx.accessLog !== null) logWhenDone(ctx, client, from.remoteAddress);
  const target = requestTarget(req, fields);
  client.host = target?.host ?? null;
  res.once('close', client.done);
  if (target === null) return client.fail(400, 'MISSING_OR_INVALID_HOST');
  if (target.host === '__ping__') {
    res.writeHead(200, undefined, ['Content-Type', 'text/plain', 'Content-Length', '2']);
    res.end(PONG);
    client.bytes = 2;
    return;
  }
  const headers = forwardRequestHeaders(
    req.rawHeaders,
    from,
    fields.connection,
    target.hostOverride,
    false,
  );
  if (headers === null) {
    res.shouldKeepAlive = false; // the body's end is unknowable: the connection cannot be reused
    return client.fail(400, 'AMBIGUOUS_FRAMING');
  }
  resolveRoute(ctx, target.host, (route) => {
    if (route === 'not-loaded') return client.fail(503, 'NO_CONFIGURATION_YET');
    if (route === null) return client.fail(400, 'UNKNOWN_HOST');
    const forwarded = { path: target.path, headers, body: fields.hasBody ? body : null, chunked: fields.chunked };
    new Exchange(ctx, client, { host: target.host, route }, forwarded).start();
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

/** The client's side of one request (see ClientSide). */
class Client implements ClientSide {
  bytes = 0;
  readonly started = performance.now();
  /** The requested host, once known. */
  host: string | null = null;

  constructor(
    private readonly ctx: ProxyContext,
    readonly req: ClientRequest,
    readonly res: ClientResponse,
    readonly debug: boolean,
    /** The request has a body, which may be left unread when the answer is an error. */
    readonly hasBody: boolean,
  ) {}

  fail(status: number, code: ErrorCode): void {
    this.bytes = sendError(this.ctx, this.req, this.res, status, code, this.debug, this.hasBody);
  }

  /** The request's end, answered or not: counted for /metrics. */
  readonly done = (): void => {
    const { ctx, res } = this;
    ctx.traffic.requestDone(this.req.method, res.headersSent ? res.statusCode : 0, (performance.now() - this.started) / 1000, this.host, ctx.hostLabels);
  };
}

/** Answers with an error page; returns the body bytes sent. */
export function sendError(ctx: ProxyContext, req: ClientRequest, res: ClientResponse, status: number, code: ErrorCode, debug: boolean, hasBody: boolean): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = ctx.errorPages.body(status);
  const headers = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(body.length), 'Cache-Control', 'no-store'];
  if (status === 503) headers.push('Retry-After', '1');
  if (debug) headers.push('x-debug-error', code);
  // A 400 means the request is wrong, or names no host served here: the client is
  // confused about this connection, so it ends (as nginx does), on either front end.
  // An unread request body would be taken as the next request: close then too.
  if (status === 400 || (hasBody && !req.complete)) res.shouldKeepAlive = false;
  res.writeHead(status, STATUS_CODES[status], headers);
  if (req.method === 'HEAD') {
    res.end();
    return 0;
  }
  res.end(body);
  return body.length;
}

function logWhenDone(ctx: ProxyContext, client: Client, remoteAddress: string): void {
  const { req, res } = client;
  res.once('close', () => {
    ctx.accessLog!.write({
      remoteAddress,
      method: req.method ?? '-',
      url: req.url ?? '-',
      httpVersion: req.httpVersion,
      status: res.statusCode,
      bytes: client.bytes,
      referer: headerValue(req.rawHeaders, 'referer'),
      userAgent: headerValue(req.rawHeaders, 'user-agent'),
    });
  });
}

/** The first value of a header (`name` in lower case). */
function headerValue(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}
