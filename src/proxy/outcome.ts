// What is known of one request (or WebSocket upgrade) when it ends, as plain
// fields on the object that already carries it (request-end.ts's
// RequestRecord: request.ts's Client, upgrade-client.ts's UpgradeClient),
// each set where it is learnt: nothing more is allocated per request. The
// access log reads it, and whatever else counts requests.

import type { ErrorCode } from './failure.js';

/** The request line and headers, as the client sent them. */
export interface RequestLine {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
}

export interface RequestOutcome {
  readonly req: RequestLine;
  /** The client (client-identity.ts): the peer or the PROXY header's source. */
  readonly remoteAddress: string;
  /** X-Request-Id: kept from a trusted peer or generated (request-id.ts). */
  readonly requestId: string;
  /** performance.now() when the request was taken up. */
  readonly started: number;
  /** The status answered; 499 (nginx's "client closed request") when the client left before any. */
  status: number;
  /** Body bytes sent to the client (for a tunnel: what the backend sent after its 101). */
  bytes: number;
  /** The requested host, normalised once routed (as sent when it could not be); null for none. */
  host: string | null;
  /** The matched frontend's key (`www.example.com`, `*.example.com`, `*`); null when none matched. */
  frontend: string | null;
  /** URL of the last backend tried (the one that answered, when one did); null when none was. */
  backend: string | null;
  /** performance.now() when the first backend attempt was dispatched; -1: none was. */
  upstreamStarted: number;
  /** performance.now() when the backend's answer ended or its last attempt failed; -1: not (yet) so. */
  upstreamEnded: number;
  /** Attempts after the first. */
  retries: number;
  /** The x-debug-error code of failure.ts this request ended with; null when none. */
  error: ErrorCode | null;
  /** A WebSocket tunnel's bytes from the client to the backend; -1 for anything that did not become a tunnel. */
  bytesIn: number;
  /** A WebSocket tunnel's bytes from the backend to the client; -1 likewise. */
  bytesOut: number;
}

/** Milliseconds spent on backends, across retries (nginx's $upstream_response_time); null when none was tried. */
export function upstreamMs(o: RequestOutcome, now: number): number | null {
  if (o.upstreamStarted < 0) return null;
  return (o.upstreamEnded < 0 ? now : o.upstreamEnded) - o.upstreamStarted;
}
