import { STATUS_CODES, type IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { logger } from '../log.js';
import type { Route } from '../routing/table.js';
import { pickBackend, type Pick } from './balancer.js';
import { clientAddress, forwardRequestHeaders, requestHeadLines, scanRequestHead } from './headers.js';
import { requestTarget, resolveRoute } from './request.js';
import type { ProxyContext } from './settings.js';

const log = logger('websocket');

/**
 * WebSocket (and any HTTP/1.1 Upgrade): routed, balanced and dead-skipping
 * like a request, then both sockets are piped. Failures before the tunnel is
 * up are answered at once with an HTTP error; every socket has an error handler.
 */
export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer): void {
  client.on('error', () => client.destroy());
  const fields = scanRequestHead(req.rawHeaders);
  const target = requestTarget(req, fields);
  if (target === null || target.host === '__ping__') return reject(client, 400);
  const socket = req.socket as Socket;
  const headers = forwardRequestHeaders(
    req.rawHeaders,
    { remoteAddress: clientAddress(socket.remoteAddress), localPort: socket.localPort ?? 0, secure: (socket as TLSSocket).encrypted === true },
    fields.connection,
    target.hostOverride,
    true,
  );
  if (headers === null) return reject(client, 400);
  resolveRoute(ctx, target.host, (route) => {
    if (route === 'not-loaded') return reject(client, 503);
    if (route === null) return reject(client, 400);
    const requestHead = requestHeadLines(req.method ?? 'GET', target.path, headers) + '\r\n';
    connect(ctx, route, target.host, [], client, Buffer.concat([Buffer.from(requestHead, 'latin1'), head]));
  });
}

function connect(ctx: ProxyContext, route: Route, host: string, tried: number[], client: Duplex, preamble: Buffer): void {
  if (client.destroyed) return;
  const pick = pickBackend(ctx.table, route, host, tried);
  if (pick === null) return reject(client, 502);
  tried.push(pick.index);
  const { hostname, port, secure } = pick.target;
  const backend: Socket = secure ? tls.connect({ host: hostname, port, servername: hostname }) : net.connect({ host: hostname, port });
  const timeoutMs = ctx.settings.tcpTimeoutMs;
  backend.setTimeout(timeoutMs);
  let connected = false;
  // Hooked before the connect completes: a client gone while the backend is
  // still connecting must not leave an open, orphaned backend connection.
  const abandon = (): void => void backend.destroy();
  client.once('close', abandon);
  backend.once('timeout', () => backend.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
  backend.once(secure ? 'secureConnect' : 'connect', () => {
    connected = true;
    backend.setTimeout(0); // an open WebSocket may stay quiet for hours
    backend.setNoDelay(true);
    backend.write(preamble);
    backend.pipe(client).pipe(backend);
    backend.once('close', () => client.destroy());
  });
  backend.on('error', (err: Error & { code?: string }) => {
    if (connected) return client.destroy();
    client.off('close', abandon);
    retry(ctx, route, host, tried, client, preamble, pick, err);
  });
}

function retry(ctx: ProxyContext, route: Route, host: string, tried: number[], client: Duplex, preamble: Buffer, pick: Pick, err: Error & { code?: string }): void {
  log.info('websocket backend failed', { host, backend: pick.target.url, error: err.code ?? err.message });
  ctx.health.report(route, host, pick.index);
  const retries = route.options?.retryOnError ?? ctx.settings.retryOnError;
  if (tried.length <= retries) return connect(ctx, route, host, tried, client, preamble);
  reject(client, err.code === 'ETIMEDOUT' ? 504 : 502);
}

function reject(client: Duplex, status: number): void {
  if (client.destroyed) return;
  const body = `${status} ${STATUS_CODES[status]}\n`;
  client.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}
