import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { logger } from '../log.js';
import type { BackendTarget } from '../frontends/backend.js';
import { pickBackend, type Pick } from './balancer.js';
import { connectionClient } from './client-identity.js';
import type { Destination } from './exchange.js';
import { isUnhealthyStatus, judge, socketFailure, type BackendFailure } from './failure.js';
import { forwardRequestHeaders, forwardResponseHeaders, requestHeadLines, scanRequestHead } from './headers.js';
import { httpsLocation, redirectsToHttps } from './https-policy.js';
import { destinationOf, requestTarget, resolveRoute } from './request.js';
import { requestIdFor } from './request-id.js';
import { backendTimeoutMs, retriesFor, type ProxyContext } from './settings.js';
import { stickyCookie, stickyDecision, stickyName, stickySetCookie } from './sticky.js';
import { openTunnel } from './tunnel.js';
import { answerHead, UpgradeClient } from './upgrade-client.js';
import { dialBackend, readyEvent } from './upstream/dial.js';
import { ResponseParser } from './upstream/response-parser.js';

const log = logger('websocket');

/**
 * WebSocket (and any HTTP/1.1 Upgrade): routed, balanced and dead-skipping
 * like a request, then both sockets are piped. Failures before the tunnel is
 * up are answered at once with an HTTP error; every socket has an error handler.
 */
export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  socket.pause(); // what the client sends next is held until the backend switched protocols
  const fields = scanRequestHead(req.rawHeaders);
  const from = connectionClient(req.socket);
  // As for a request: an untrusted client's X-Debug is ignored.
  const client = new UpgradeClient(ctx, req, socket, from.remoteAddress, requestIdFor(fields.requestId, from.trusted), fields.debug && from.trusted);
  const target = requestTarget(req, fields);
  if (target === null) {
    client.host = fields.host ?? null;
    return client.reject(400, 'MISSING_OR_INVALID_HOST');
  }
  client.host = target.host;
  if (target.host === '__ping__') return client.reject(400, 'UNKNOWN_HOST');
  const headers = forwardRequestHeaders(req.rawHeaders, from, fields.connection, target.hostOverride, true, client.requestId);
  if (headers === null) return client.reject(400, 'AMBIGUOUS_FRAMING');
  resolveRoute(ctx, target.host, target.path, (route) => {
    if (route === 'not-loaded') return client.reject(503, 'NO_CONFIGURATION_YET');
    if (route === null) return client.reject(400, 'UNKNOWN_HOST');
    client.frontend = route.key;
    // Behind a load balancer that terminates TLS, the client's side is HTTPS if it says so.
    const secure = from.secure || (from.trusted && fields.forwardedHttps);
    if (redirectsToHttps(route, secure, target.path)) {
      const location = httpsLocation(target.host, target.path, ctx.settings.httpsPort);
      return location === null ? client.reject(400, 'MISSING_OR_INVALID_HOST') : client.redirect(location);
    }
    if (route.backends.length === 0) {
      ctx.traffic.backendError('NO_BACKENDS');
      return client.reject(502, 'NO_BACKENDS');
    }
    const { to, path } = destinationOf(target.host, route, target.path);
    const requestHead = Buffer.from(requestHeadLines(req.method ?? 'GET', path, headers) + '\r\n', 'latin1');
    const sticky = route.options?.sticky;
    const wanted = sticky === undefined ? null : stickyCookie(req.rawHeaders, sticky.cookie);
    new Upgrade(ctx, client, to, requestHead, head, secure, wanted).connect();
  });
}

/** One upgrade on its way to a backend, across retries (failure.ts decides, as for a request). */
class Upgrade {
  readonly tried: number[] = [];
  /** The backend counted in flight (BackendLoad) for the attempt under way or the tunnel open, until it ends. */
  #counted: BackendTarget | null = null;

  constructor(
    readonly ctx: ProxyContext,
    readonly client: UpgradeClient,
    readonly to: Destination,
    /** The request head as forwarded: sent again as it is on a retry. */
    readonly preamble: Buffer,
    /**
     * Bytes the client sent after its head, before any answer: they belong
     * to the new protocol, so they go to the backend only once it has
     * switched (101). Sent with the request, a backend that answers 200 would
     * read them as a second request, unrouted.
     */
    readonly early: Buffer,
    /** The client's side is HTTPS: a sticky cookie is Secure. */
    readonly secure: boolean,
    /** The sticky cookie's value in the request, when the route is sticky and one was sent. */
    readonly wanted: string | null,
  ) {
    // However the upgrade ends (refused, answered, a tunnel closed), the client's socket closes.
    client.socket.once('close', () => this.settled());
  }

  /** The attempt under way (or the tunnel) is over: its backend has one request less in flight. Idempotent. */
  settled(): void {
    const counted = this.#counted;
    if (counted === null) return;
    this.#counted = null;
    this.ctx.load.ended(counted);
  }

  /**
   * Header lines (each ended by CRLF) the answer of `pick` gets from the
   * proxy: a sticky route's cookie when the request's did not name it, and
   * X-Debug's sticky decision.
   */
  stickyLines(pick: Pick): string {
    const sticky = this.to.route.options?.sticky;
    if (sticky === undefined) return '';
    let lines = this.wanted === stickyName(pick.target) ? '' : `Set-Cookie: ${stickySetCookie(sticky.cookie, pick.target, this.secure)}\r\n`;
    if (this.client.debug) lines += `x-debug-sticky: ${stickyDecision(this.wanted, pick.target)}\r\n`;
    return lines;
  }

  connect(): void {
    const client = this.client;
    if (client.socket.destroyed) return;
    const { marks, route } = this.to;
    const pick = pickBackend(this.ctx.table, route, marks, this.tried, this.ctx.load, this.wanted);
    if (pick === null) {
      if (this.tried.length === 0) this.ctx.traffic.backendError('ALL_BACKENDS_DEAD');
      return client.reject(502, this.tried.length === 0 ? 'ALL_BACKENDS_DEAD' : 'NO_BACKEND_LEFT');
    }
    this.tried.push(pick.index);
    this.ctx.load.started(pick.target);
    this.#counted = pick.target;
    client.backend = pick.target.url;
    client.retries = this.tried.length - 1;
    if (client.upstreamStarted < 0) client.upstreamStarted = performance.now();
    client.upstreamEnded = -1;
    new UpgradeAttempt(this, pick);
  }

  failed(pick: Pick, failure: BackendFailure, message: string): void {
    this.settled();
    const client = this.client;
    if (client.socket.destroyed) return;
    const { ctx, to } = this;
    client.upstreamEnded = performance.now();
    ctx.traffic.backendError(failure);
    // Nothing reached the client yet, and the preamble is kept whole for another backend.
    const verdict = judge(failure, false, true, true); // an upgrade is a GET
    if (verdict.markDead) ctx.health.report(to.route, to.marks, pick.index, 'connection');
    log.info('websocket backend failed', { host: to.host, backend: pick.target.url, error: failure, detail: message });
    if (verdict.retry && this.tried.length <= retriesFor(ctx.settings, to.route)) {
      ctx.traffic.retries++;
      return this.connect();
    }
    if (verdict.status === null) return void client.socket.destroy();
    client.reject(verdict.status, verdict.code);
  }
}

const enum Stage {
  Connecting,
  /** The upgrade request is sent; the answer's head is not complete yet. */
  Waiting,
  /** The backend switched protocols: both sockets are piped until either side is gone. */
  Open,
  /** The backend answered something else: relayed as an ordinary answer, then the client connection closes. */
  Answering,
  /** Failed or abandoned: nothing more to decide. */
  Done,
}

/** The most the answer's head may take before the backend counts as broken. */
const MAX_ANSWER_HEAD = 64 * 1024;

/** One backend connection for an upgrade: tcpTimeout covers the connect and the wait for the answer, nothing after. */
class UpgradeAttempt {
  readonly #backend: Socket;
  #stage = Stage.Connecting;
  /** The answer's bytes until its head is complete. */
  #head: Buffer | null = null;

  constructor(
    private readonly upgrade: Upgrade,
    private readonly pick: Pick,
  ) {
    const backend = (this.#backend = dialBackend(pick.target));
    backend.setTimeout(backendTimeoutMs(upgrade.ctx.settings, upgrade.to.route));
    // Hooked before the connect completes: a client gone while the backend is
    // still connecting must not leave an open, orphaned backend connection.
    upgrade.client.socket.once('close', this.#abandon);
    backend.once(readyEvent(pick.target), () => {
      if (this.#stage !== Stage.Connecting) return;
      this.#stage = Stage.Waiting;
      backend.write(upgrade.preamble);
    });
    backend.on('data', this.#onAnswer);
    backend.once('timeout', () => this.#fail(this.#stage === Stage.Connecting ? 'CONNECT_TIMEOUT' : 'HEADERS_TIMEOUT', 'backend timed out'));
    backend.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#stage === Stage.Open || this.#stage === Stage.Answering) upgrade.client.socket.destroy();
      else this.#fail(socketFailure(err, this.#stage === Stage.Waiting), err.message);
    });
    backend.once('close', () => {
      if (this.#stage === Stage.Open || this.#stage === Stage.Answering) upgrade.client.socket.destroy();
      else this.#fail(this.#head === null ? 'UPSTREAM_CLOSED' : 'RESPONSE_TRUNCATED', 'backend closed the connection');
    });
  }

  readonly #abandon = (): void => {
    this.#stage = Stage.Done;
    this.#backend.destroy();
  };

  /** Bytes of the backend's answer, until its head is complete: 101 opens the tunnel, anything else is an answer. */
  readonly #onAnswer = (data: Buffer): void => {
    if (this.#stage !== Stage.Waiting) return;
    let bytes = this.#head === null ? data : Buffer.concat([this.#head, data]);
    for (;;) {
      const end = bytes.indexOf('\r\n\r\n');
      if (end === -1) {
        if (bytes.length > MAX_ANSWER_HEAD) return this.#fail('BAD_RESPONSE', 'answer head larger than 64 KiB');
        this.#head = bytes;
        return;
      }
      const status = statusOf(bytes);
      if (status === -1) return this.#fail('BAD_RESPONSE', 'malformed status line');
      if (status === 101 || status >= 200) {
        this.#head = bytes;
        this.#backend.off('data', this.#onAnswer);
        this.#backend.setTimeout(0); // an open WebSocket may stay quiet for hours; an answer's body is the client's to wait for
        return status === 101 ? this.#open(bytes) : this.#answer(bytes);
      }
      bytes = bytes.subarray(end + 4); // an interim answer (100, 103): the real one follows
    }
  };

  /** Switching protocols: from here on the tunnel is the client's, never retried, never timed out. */
  #open(answer: Buffer): void {
    this.#stage = Stage.Open;
    const upgrade = this.upgrade;
    upgrade.client.switched();
    openTunnel(upgrade.ctx, this.#backend, upgrade.client, answer, upgrade.early, upgrade.stickyLines(this.pick));
  }

  /**
   * Not 101: an ordinary answer (a 401, a 404, a 426...). It is relayed as one,
   * framed by the proxy, and the client connection closes after it: it never
   * becomes a tunnel, so no request after it can reach this backend unrouted.
   */
  #answer(bytes: Buffer): void {
    this.#stage = Stage.Answering;
    const { ctx, to, client } = this.upgrade;
    const { socket } = client;
    const backend = this.#backend;
    const parser = new ResponseParser({
      onHead: (head) => {
        const { headers, retryAfter } = forwardResponseHeaders(head.headers, head.contentLength, client.requestId);
        if (isUnhealthyStatus(head.status, retryAfter, ctx.settings)) ctx.health.report(to.route, to.marks, this.pick.index, 'answer');
        client.status = head.status;
        socket.write(answerHead(head.status, head.statusText, headers, this.upgrade.stickyLines(this.pick)));
      },
      onBody: (chunk) => {
        client.bytes += chunk.length;
        socket.write(chunk);
      },
      onComplete: () => {
        this.upgrade.settled();
        client.upstreamEnded = performance.now();
        socket.end();
        backend.destroy();
      },
    });
    parser.expect(false);
    const feed = (data: Buffer): void => {
      try {
        parser.execute(data);
      } catch (err) {
        log.info('websocket backend answer cannot be relayed', { host: to.host, backend: this.pick.target.url, error: (err as Error).message });
        client.error = 'BAD_RESPONSE';
        socket.destroy();
        backend.destroy();
      }
    };
    backend.on('data', feed);
    backend.once('end', () => {
      try {
        parser.end();
      } catch {
        client.error = 'RESPONSE_TRUNCATED';
        socket.destroy(); // cut short
      }
    });
    feed(bytes);
  }

  #fail(failure: BackendFailure, message: string): void {
    if (this.#stage === Stage.Open || this.#stage === Stage.Answering || this.#stage === Stage.Done) return;
    this.#stage = Stage.Done;
    this.upgrade.client.socket.off('close', this.#abandon);
    this.#backend.destroy();
    this.upgrade.failed(this.pick, failure, message);
  }
}

/** The status of an answer head ("HTTP/1.1 101 Switching Protocols"), or -1 when it is not one. */
function statusOf(head: Buffer): number {
  const m = /^HTTP\/1\.[01] (\d{3})(?: |\r)/.exec(head.toString('latin1', 0, Math.min(head.length, 32)));
  return m === null ? -1 : Number(m[1]);
}
