import { readFileSync } from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import http2, { type Http2SecureServer } from 'node:http2';
import { isIPv4, isIPv6, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SwitchyardConfig } from '../config/types.js';
import { logger } from '../log.js';
import { identifyClients } from './client-identity.js';
import { h2Options, serveH2, type H2Sessions } from './h2/session.js';
import { FastConnection, FastFront, type ClientTimeouts, type Handoff, type RequestHandler } from './front/connection.js';
import { ConnectionLimit } from './limits.js';
import { oneAtATime } from './pipeline.js';
import { handleRequest } from './request.js';
import { nextRequestId } from './request-id.js';
import type { ProxyContext } from './settings.js';
import { DEFAULT_CONTEXT_CACHE, SecureContextCache } from './tls/contexts.js';
import { tlsProfile } from './tls/profile.js';
import { sniCallback } from './tls/sni.js';
import { TrustedProxies } from './trust.js';
import { handleUpgrade } from './websocket.js';

const log = logger('server');

/** Client-side parse errors, answered with their status and the connection closed. */
function statusForClientError(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/** The end of an answer made before any routing: every answer carries an X-Request-Id, these too. */
function refusalTail(): string {
  return `X-Request-Id: ${nextRequestId()}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
}

/**
 * HTTP/1.1 connections, plain or over TLS, are served by the fast front end
 * (src/proxy/front/) and handed to node:http at their first request it does
 * not serve itself. SWITCHYARD_FRONT=node turns it off (every connection on
 * node:http), to compare the two.
 */
const FAST_FRONT = process.env.SWITCHYARD_FRONT !== 'node';

/** The HTTP/1.1 side of a listener: node:http's Server, or an Http2SecureServer's HTTP/1.1 connections (allowHTTP1). */
function attach<S extends EventEmitter>(server: S, ctx: ProxyContext, timeouts: ClientTimeouts): S {
  server.on('request', oneAtATime((req, res) => handleRequest(ctx, req, res, req), timeouts.clientStall));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(ctx, req, socket, head));
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n${refusalTail()}`);
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy();
    const status = statusForClientError(err.code);
    const refusal = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${refusalTail()}`;
    // A pipelined request went wrong while the answer to an earlier, complete
    // request is still on its way: that answer goes out whole, the refusal
    // after it. (When the request being answered is the one whose body went
    // wrong, the refusal replaces its answer: closing the connection aborts
    // its backend request.)
    const answering = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (answering != null && (answering.headersSent || answering.req.complete)) {
      const refuse = (): void => void (socket.writable && socket.end(refusal));
      if (answering.writableFinished) refuse();
      else answering.once('finish', refuse);
      return;
    }
    socket.end(refusal);
  });
  return server;
}

function serverOptions(config: SwitchyardConfig): http.ServerOptions {
  return {
    headersTimeout: config.server.headersTimeout * 1000,
    requestTimeout: 0, // long uploads and downloads are streamed: a stall is cut after idleTimeout, never a moving transfer
    connectionsCheckingInterval: Math.min(1000, config.server.headersTimeout * 500),
    keepAliveTimeout: config.server.keepAliveTimeout * 1000,
    noDelay: true,
  };
}

/**
 * The HTTPS listener: HTTP/2 to clients that offer it (ALPN "h2"), HTTP/1.1
 * to the others, WebSocket upgrades included (SPEC §7). Its HTTP/1.1
 * connections go to the fast front end first (serveFast), then node:http,
 * configured as the plain listener's is (serverOptions): an
 * Http2SecureServer takes those as properties.
 */
function secureServer(config: SwitchyardConfig, tlsOptions: http2.SecureServerOptions): Http2SecureServer {
  const server = http2.createSecureServer({ ...tlsOptions, ...h2Options(), noDelay: true } as http2.SecureServerOptions);
  Object.assign(server, serverOptions(config));
  return server;
}

/** The client-side timeouts the fast front end applies as node:http does (serverOptions). */
function clientTimeouts(config: SwitchyardConfig, ctx: ProxyContext): ClientTimeouts {
  const server = config.server;
  return { keepAlive: server.keepAliveTimeout, headersMs: server.headersTimeout * 1000, clientStall: { ms: server.idleTimeout * 1000, counters: ctx.limits } };
}

/**
 * Puts the fast front end before node's own handling of the connections
 * `server` announces as `event`: 'connection' on the plain listener,
 * 'secureConnection' (handshake done) on the HTTPS one. There node's
 * listener (the http2 module's) starts an HTTP/2 session when ALPN chose
 * "h2" and gives anything else to node:http: an h2 connection goes to it at
 * once, and it is where the fast front end hands an HTTP/1.1 one off.
 */
function serveFast(server: EventEmitter, event: 'connection' | 'secureConnection', ctx: ProxyContext, timeouts: ClientTimeouts): FastFront {
  const front = new FastFront();
  const nodeListeners = server.listeners(event) as ((socket: Socket) => void)[];
  server.removeAllListeners(event);
  const toNode = (socket: Socket): void => {
    for (const listener of nodeListeners) listener.call(server, socket);
  };
  const handoff: Handoff = (socket, unread) => {
    toNode(socket);
    // node:http reads the socket from here on; these bytes were read before it took over.
    if (unread.length > 0) socket.emit('data', unread);
  };
  const handler: RequestHandler = (req, res, body) => handleRequest(ctx, req, res, body);
  server.on(event, (socket: Socket) => {
    // A plain socket has no alpnProtocol; a TLS one false (no ALPN), 'http/1.1' or 'h2'.
    if ((socket as TLSSocket).alpnProtocol === 'h2') return toNode(socket);
    new FastConnection(socket, timeouts, handler, handoff, front);
  });
  return front;
}

export interface Listener {
  server: Server | Http2SecureServer;
  address: string;
  port: number;
  secure: boolean;
  /** The fast front end of its HTTP/1.1 connections (null with SWITCHYARD_FRONT=node). */
  fast: FastFront | null;
  /** The HTTP/2 sessions (the HTTPS listener only). */
  h2: H2Sessions | null;
  /** The secure contexts of SNI names (the HTTPS listener only; one cache for every bind address). */
  contexts: SecureContextCache | null;
}

/** What the fast front ends of a worker's listeners did, for the admin API. */
export interface FrontStats {
  /** A listener has the fast front end. */
  fast: boolean;
  /** Requests it served itself. */
  fastRequests: number;
  /** Connections it handed to node:http (each then served by node:http to its end). */
  handoffs: number;
}

export function frontStats(listeners: readonly Listener[]): FrontStats {
  const stats: FrontStats = { fast: false, fastRequests: 0, handoffs: 0 };
  for (const l of listeners) {
    if (l.fast === null) continue;
    stats.fast = true;
    stats.fastRequests += l.fast.requests;
    stats.handoffs += l.fast.handoffs;
  }
  return stats;
}

/** What the TLS listener shares with the other workers of the instance. */
export interface TlsSecrets {
  /** 48 bytes: the session ticket key (tickets issued by one worker resume on another). */
  ticketKeys: Buffer;
}

/** Starts every configured listener (http and https, each bind address). */
export async function listen(config: SwitchyardConfig, ctx: ProxyContext, secrets: TlsSecrets | null = null): Promise<Listener[]> {
  const plans: { server: Server | Http2SecureServer; bind: string; port: number; secure: boolean; fast: FastFront | null; h2: H2Sessions | null; contexts: SecureContextCache | null }[] = [];
  // "::" is dual-stack by default and would collide with an IPv4 bind on the same port.
  const ipv6Only = (bind: string, all: string[]) => isIPv6(bind) && all.some((b) => isIPv4(b));
  const trust = TrustedProxies.compile(config.server.trustedProxies);
  const identity = (secure: boolean, proxyProtocol: boolean) => ({ secure, proxyProtocol, trust, headerTimeoutMs: config.server.headersTimeout * 1000 });
  const timeouts = clientTimeouts(config, ctx);
  if (config.http !== null) {
    for (const bind of config.http.bind) {
      const server = attach(http.createServer(serverOptions(config)), ctx, timeouts);
      const fast = FAST_FRONT ? serveFast(server, 'connection', ctx, timeouts) : null;
      identifyClients(server, identity(false, config.http.proxyProtocol));
      plans.push({ server, bind, port: config.http.port, secure: false, fast, h2: null, contexts: null });
    }
  }
  if (config.https !== null) {
    const profile = tlsProfile(config.https);
    const ticketKeys = secrets?.ticketKeys ?? null;
    const contexts = new SecureContextCache(profile, DEFAULT_CONTEXT_CACHE, ticketKeys);
    const tlsOptions = {
      ...(ticketKeys !== null ? { ticketKeys } : {}),
      key: readFileSync(config.https.key),
      cert: readFileSync(config.https.cert),
      ...(config.https.ca ? { ca: config.https.ca.map((f) => readFileSync(f)) } : {}),
      ...profile,
      SNICallback: sniCallback(ctx, contexts),
    };
    for (const bind of config.https.bind) {
      const server = attach(secureServer(config, tlsOptions), ctx, timeouts);
      if (ctx.ocsp !== null) server.on('OCSPRequest', ctx.ocsp.onRequest);
      const h2 = serveH2(server, (req, res, body) => handleRequest(ctx, req, res, body), config.server.keepAliveTimeout * 1000);
      // Before identifyClients, whose 'secureConnection' listener is not node's: it identifies the fast front end's connections too.
      const fast = FAST_FRONT ? serveFast(server, 'secureConnection', ctx, timeouts) : null;
      identifyClients(server, identity(true, config.https.proxyProtocol));
      plans.push({ server, bind, port: config.https.port, secure: true, fast, h2, contexts });
    }
  }
  // Last, so that it comes before everything else a connection meets (a PROXY header, the fast front end, TLS).
  const limit = new ConnectionLimit(config.server.maxConnections, ctx.limits, ctx.traffic.open);
  for (const plan of plans) limit.guard(plan.server, plan.secure ? 'https' : 'http');
  return bindAll(
    plans.map(
      (p) =>
        new Promise<Listener>((resolve, reject) => {
          p.server.once('error', reject);
          const all = (p.secure ? config.https?.bind : config.http?.bind) ?? [];
          p.server.listen({ port: p.port, host: p.bind, ipv6Only: ipv6Only(p.bind, all) }, () => {
            p.server.off('error', reject);
            p.server.on('error', (err) => log.error('listener error', { error: err.message }));
            resolve({ server: p.server, address: p.bind, port: p.port, secure: p.secure, fast: p.fast, h2: p.h2, contexts: p.contexts });
          });
        }),
    ),
  );
}

/**
 * A new session ticket key (rotation), for tickets issued from now on: on
 * each HTTPS listener and the SNI names' contexts. Node holds one key, so a
 * ticket issued under the previous one gets a full handshake.
 */
export function setTicketKeys(listeners: readonly Listener[], keys: Buffer): void {
  for (const l of listeners) {
    if (!l.secure) continue;
    (l.server as Http2SecureServer).setTicketKeys(keys);
    l.contexts?.setTicketKeys(keys);
  }
}

/**
 * A listener could not bind (its port taken). The others did and still
 * listen: `bound`, to drain with the rest, so that the connections they
 * accepted meanwhile are answered before the worker exits.
 */
export class ListenError extends Error {
  readonly code = 'LISTEN_FAILED';

  constructor(
    cause: unknown,
    readonly bound: Listener[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

async function bindAll(binding: Promise<Listener>[]): Promise<Listener[]> {
  const results = await Promise.allSettled(binding);
  const bound = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw new ListenError(failed.reason, bound);
  return bound;
}

/** While draining, idle node:http connections are closed this often. */
const DRAIN_SWEEP_MS = 250;

/** Stop accepting, let in-flight requests finish, close idle keep-alive connections. */
export function drain(listeners: Listener[]): Promise<void> {
  return Promise.all(
    listeners.map(
      (l) =>
        new Promise<void>((resolve) => {
          // node:http closes the connections idle now; one that finishes a request later would
          // stay open for keepAliveTimeout (75 s): close those as they become idle too.
          // (An Http2SecureServer has the method for its HTTP/1.1 connections; its type does not say so.)
          const closeIdle = (): void => (l.server as Server).closeIdleConnections();
          const sweep = setInterval(closeIdle, DRAIN_SWEEP_MS);
          l.server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          closeIdle();
          for (const connection of l.fast?.connections ?? []) connection.drain();
          l.h2?.drain();
        }),
    ),
  ).then(() => undefined);
}
