import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { logger } from '../log.js';
import { pickBackend, type Pick } from './balancer.js';
import type { Destination } from './exchange.js';
import { judge, socketFailure, type BackendFailure, type ErrorCode } from './failure.js';
import { clientAddress, forwardRequestHeaders, requestHeadLines, scanRequestHead } from './headers.js';
import { requestTarget, resolveRoute } from './request.js';
import { backendTimeoutMs, retriesFor, type ProxyContext } from './settings.js';
import { dialBackend, readyEvent } from './upstream/dial.js';

const log = logger('websocket');

/**
 * WebSocket (and any HTTP/1.1 Upgrade): routed, balanced and dead-skipping
 * like a request, then both sockets are piped. Failures before the tunnel is
 * up are answered at once with an HTTP error; every socket has an error handler.
 */
export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer): void {
  client.on('error', () => client.destroy());
  const fields = scanRequestHead(req.rawHeaders);
  const debug = fields.debug;
  const target = requestTarget(req, fields);
  if (target === null) return reject(client, 400, 'MISSING_OR_INVALID_HOST', debug);
  if (target.host === '__ping__') return reject(client, 400, 'UNKNOWN_HOST', debug);
  const socket = req.socket as Socket;
  const headers = forwardRequestHeaders(
    req.rawHeaders,
    { remoteAddress: clientAddress(socket.remoteAddress), localPort: socket.localPort ?? 0, secure: (socket as TLSSocket).encrypted === true },
    fields.connection,
    target.hostOverride,
    true,
  );
  if (headers === null) return reject(client, 400, 'AMBIGUOUS_FRAMING', debug);
  resolveRoute(ctx, target.host, (route) => {
    if (route === 'not-loaded') return reject(client, 503, 'NO_CONFIGURATION_YET', debug);
    if (route === null) return reject(client, 400, 'UNKNOWN_HOST', debug);
    if (route.backends.length === 0) return reject(client, 502, 'NO_BACKENDS', debug);
    const requestHead = requestHeadLines(req.method ?? 'GET', target.path, headers) + '\r\n';
    new Upgrade(ctx, client, { host: target.host, route }, Buffer.concat([Buffer.from(requestHead, 'latin1'), head]), debug).connect();
  });
}

/** One upgrade on its way to a backend, across retries (failure.ts decides, as for a request). */
class Upgrade {
  readonly tried: number[] = [];

  constructor(
    readonly ctx: ProxyContext,
    readonly client: Duplex,
    readonly to: Destination,
    /** The request head and any bytes the client sent after it: sent again as they are on a retry. */
    readonly preamble: Buffer,
    readonly debug: boolean,
  ) {}

  connect(): void {
    if (this.client.destroyed) return;
    const { host, route } = this.to;
    const pick = pickBackend(this.ctx.table, route, host, this.tried);
    if (pick === null) return reject(this.client, 502, this.tried.length === 0 ? 'ALL_BACKENDS_DEAD' : 'NO_BACKEND_LEFT', this.debug);
    this.tried.push(pick.index);
    new UpgradeAttempt(this, pick);
  }

  failed(pick: Pick, failure: BackendFailure, message: string): void {
    if (this.client.destroyed) return;
    const { ctx, to } = this;
    // Nothing reached the client yet, and the preamble is kept whole for another backend.
    const verdict = judge(failure, false, true);
    if (verdict.markDead) ctx.health.report(to.route, to.host, pick.index);
    log.info('websocket backend failed', { host: to.host, backend: pick.target.url, error: failure, detail: message });
    if (verdict.retry && this.tried.length <= retriesFor(ctx.settings, to.route)) return this.connect();
    if (verdict.status === null) return void this.client.destroy();
    reject(this.client, verdict.status, verdict.code, this.debug);
  }
}

const enum Stage {
  Connecting,
  /** The upgrade request is sent; no byte of the answer yet. */
  Waiting,
  /** The backend answered: both sockets are piped until either closes. */
  Open,
  /** Failed or abandoned: nothing more to decide. */
  Done,
}

/** One backend connection for an upgrade: tcpTimeout covers the connect and the wait for the answer, nothing after. */
class UpgradeAttempt {
  readonly #backend: Socket;
  #stage = Stage.Connecting;

  constructor(
    private readonly upgrade: Upgrade,
    private readonly pick: Pick,
  ) {
    const backend = (this.#backend = dialBackend(pick.target));
    backend.setTimeout(backendTimeoutMs(upgrade.ctx.settings, upgrade.to.route));
    // Hooked before the connect completes: a client gone while the backend is
    // still connecting must not leave an open, orphaned backend connection.
    upgrade.client.once('close', this.#abandon);
    backend.once(readyEvent(pick.target), () => {
      if (this.#stage !== Stage.Connecting) return;
      this.#stage = Stage.Waiting;
      backend.write(upgrade.preamble);
    });
    backend.once('data', (first: Buffer) => this.#open(first));
    backend.once('timeout', () => this.#fail(this.#stage === Stage.Connecting ? 'CONNECT_TIMEOUT' : 'HEADERS_TIMEOUT', 'backend timed out'));
    backend.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#stage === Stage.Open) upgrade.client.destroy();
      else this.#fail(socketFailure(err, this.#stage === Stage.Waiting), err.message);
    });
    backend.once('close', () => {
      if (this.#stage === Stage.Open) upgrade.client.destroy();
      else this.#fail('UPSTREAM_CLOSED', 'backend closed the connection');
    });
  }

  readonly #abandon = (): void => {
    this.#stage = Stage.Done;
    this.#backend.destroy();
  };

  /** The backend's first byte: from here on the tunnel is the client's, never retried, never timed out. */
  #open(first: Buffer): void {
    if (this.#stage !== Stage.Waiting) return;
    this.#stage = Stage.Open;
    const backend = this.#backend;
    const client = this.upgrade.client;
    closeWhenQuiet(this.upgrade.ctx, backend, client);
    client.write(first);
    backend.pipe(client).pipe(backend);
  }

  #fail(failure: BackendFailure, message: string): void {
    if (this.#stage === Stage.Open || this.#stage === Stage.Done) return;
    this.#stage = Stage.Done;
    this.upgrade.client.off('close', this.#abandon);
    this.#backend.destroy();
    this.upgrade.failed(this.pick, failure, message);
  }
}

/**
 * An open WebSocket may stay quiet for hours: it is closed for it only when
 * server.websocketIdleTimeout is set, after that long without a byte either
 * way. Every byte of the tunnel crosses the backend socket, read or written,
 * so that socket's inactivity timeout measures the tunnel's.
 */
function closeWhenQuiet(ctx: ProxyContext, backend: Socket, client: Duplex): void {
  backend.setTimeout(ctx.settings.websocketIdleMs);
  if (ctx.settings.websocketIdleMs === 0) return;
  backend.on('timeout', () => {
    ctx.limits.idleWebSockets++;
    backend.destroy();
    client.destroy();
  });
}

function reject(client: Duplex, status: number, code: ErrorCode, debug: boolean): void {
  if (client.destroyed) return;
  const body = `${status} ${STATUS_CODES[status]}\n`;
  const debugHeader = debug ? `x-debug-error: ${code}\r\n` : '';
  client.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${debugHeader}Connection: close\r\n\r\n${body}`);
}
