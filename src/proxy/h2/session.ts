// HTTP/2 on the HTTPS listener (SPEC §7): the sessions ALPN negotiated as
// "h2" and their streams, each served by the engine as an HTTP/1.1 request
// is (request.ts handleRequest). HTTP/1.1 connections on the same listener
// (allowHTTP1) never come here.

import { constants, type Http2SecureServer, type SecureServerOptions, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { logger } from '../../log.js';
import type { ClientRequest, ClientResponse, ClientSocketInfo, RequestBody } from '../client.js';
import { carryIdentity } from '../client-identity.js';
import { nextRequestId } from '../request-id.js';
import { readH2RequestHead } from './request-head.js';
import { H2Request, H2Response } from './stream.js';

const log = logger('h2');
const { NGHTTP2_PROTOCOL_ERROR, HTTP2_HEADER_STATUS } = constants;

/** Streams one session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused by nghttp2. */
export const MAX_CONCURRENT_STREAMS = 128;

/**
 * The session settings and the limits against abusive clients. A client
 * that opens streams and resets them at once (the "rapid reset" attack,
 * CVE-2023-44487) is stopped by the nghttp2 of Node 20 (1.57 and later):
 * past a burst of 1000 resets, then 33 a second, the session ends with
 * GOAWAY (the test sees it). Past maxSessionInvalidFrames bad frames, or
 * maxSessionRejectedStreams streams refused (beyond maxConcurrentStreams),
 * Node ends the session too. maxSessionMemory (MB) bounds what a session
 * may hold (header tables, frames queued for a client that does not read):
 * past it new streams are refused. What a stream buffers is bounded by its
 * flow-control window and its writable's high-water mark (stream.ts).
 */
export function h2Options(): SecureServerOptions {
  return {
    allowHTTP1: true,
    ALPNProtocols: ['h2', 'http/1.1'],
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, enablePush: false, enableConnectProtocol: false },
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxSessionMemory: 10,
    maxHeaderListPairs: 256,
  };
}

export type StreamHandler = (req: ClientRequest, res: ClientResponse, body: RequestBody | null) => void;

/** The open HTTP/2 sessions of a listener, for draining. */
export class H2Sessions {
  readonly open = new Set<ServerHttp2Session>();
  #draining = false;

  add(session: ServerHttp2Session): void {
    if (this.#draining) return void session.close();
    this.open.add(session);
    session.once('close', () => this.open.delete(session));
  }

  /** GOAWAY to every session: the streams under way are answered, no new one is taken, each closes once done. */
  drain(): void {
    this.#draining = true;
    for (const session of this.open) session.close();
  }
}

/**
 * Serves the HTTP/2 sessions of `server`. Node's compatibility layer, set
 * up when the HTTP/1.1 'request' listener was added, is taken off: the
 * streams are read here. `idleMs`: a session without an open stream for
 * that long is closed (server.keepAliveTimeout, as an idle HTTP/1.1
 * connection is).
 */
export function serveH2(server: Http2SecureServer, handle: StreamHandler, idleMs: number): H2Sessions {
  const sessions = new H2Sessions();
  server.removeAllListeners('stream');
  server.on('session', (session: ServerHttp2Session) => {
    watchSession(session, idleMs);
    sessions.add(session);
  });
  server.on('stream', (stream: ServerHttp2Stream, _headers: unknown, _flags: number, rawHeaders: string[]) => serveStream(stream, rawHeaders, handle));
  server.on('sessionError', (err: Error) => log.debug('http/2 session error', { error: err.message }));
  return sessions;
}

const SOCKET = Symbol('switchyard.h2.socket');
const OPEN = Symbol('switchyard.h2.open');
type Session = ServerHttp2Session & { [SOCKET]?: ClientSocketInfo; [OPEN]?: number };

function watchSession(session: Session, idleMs: number): void {
  session.on('error', () => {}); // a peer's protocol error ends its session, nothing more ('sessionError' logs it)
  // session.socket is a proxy that throws once the session is gone: its streams keep what they need of it.
  session[SOCKET] = carryIdentity(session.socket);
  session[OPEN] = 0;
  session.setTimeout(idleMs, () => {
    if (session[OPEN] === 0) session.close();
  });
}

function serveStream(stream: ServerHttp2Stream, raw: string[], handle: StreamHandler): void {
  stream.on('error', () => {}); // a reset stream: its 'close' tells the request
  const session = stream.session as Session | undefined;
  const socket = session?.[SOCKET];
  if (session === undefined || socket === undefined) return void stream.close(NGHTTP2_PROTOCOL_ERROR);
  const head = readH2RequestHead(raw, stream.endAfterHeaders);
  if (head === 'malformed') return void stream.close(NGHTTP2_PROTOCOL_ERROR); // RFC 9113 §8.1.1: a stream error
  if (head === 'connect') {
    // As on HTTP/1.1 (server.ts): nothing here tunnels.
    stream.respond({ [HTTP2_HEADER_STATUS]: 405, allow: 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS', 'x-request-id': nextRequestId(), 'content-length': '0' }, { endStream: true });
    return;
  }
  session[OPEN]!++;
  stream.once('close', () => session[OPEN]!--);
  if (head.expectContinue) stream.additionalHeaders({ [HTTP2_HEADER_STATUS]: 100 });
  const req = new H2Request(stream, head, socket);
  handle(req, new H2Response(stream, head.method === 'HEAD'), stream.endAfterHeaders ? null : req);
}
