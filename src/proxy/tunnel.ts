import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './settings.js';
import type { UpgradeClient } from './upgrade-client.js';

/**
 * The backend switched protocols: from here on the two sockets are piped
 * both ways until either is gone. `answer` is the backend's 101 head and
 * whatever followed it in the same read; `early` what the client sent after
 * its request, held until now. The bytes each way are counted on `client`
 * for the access log.
 */
export function openTunnel(ctx: ProxyContext, backend: Socket, client: UpgradeClient, answer: Buffer, early: Buffer, extra = ''): void {
  const socket = client.socket;
  closeWhenQuiet(ctx, backend, socket);
  closeWhenStuck(ctx, backend, socket);
  const headEnd = answer.indexOf('\r\n\r\n') + 4;
  socket.write(withRequestId(answer.subarray(0, headEnd), client.requestId, extra));
  if (answer.length > headEnd) socket.write(answer.subarray(headEnd));
  if (early.length > 0) backend.write(early);
  client.bytesOut = answer.length - headEnd;
  client.bytesIn = early.length;
  backend.pipe(socket).pipe(backend);
  backend.on('data', (chunk: Buffer) => void (client.bytesOut += chunk.length));
  socket.on('data', (chunk: Buffer) => void (client.bytesIn += chunk.length));
}

/**
 * The backend's 101 head (blank line included) carrying the request's X-Request-Id, once: the backend's own is dropped.
 * `extra`: the proxy's own header lines (each ended by CRLF), after the backend's.
 */
function withRequestId(head: Buffer, requestId: string, extra: string): Buffer {
  const lines = head.toString('latin1', 0, head.length - 4).split('\r\n');
  let out = lines[0]!;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.slice(0, 12).toLowerCase() === 'x-request-id' && /^[ \t]*:/.test(line.slice(12))) continue;
    out += `\r\n${line}`;
  }
  return Buffer.from(`${out}\r\n${extra}X-Request-Id: ${requestId}\r\n\r\n`, 'latin1');
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

/**
 * A tunnel is moving data only while each side takes what the other sends.
 * When one side stops taking it, the pipe pauses the sender's socket, and a
 * paused socket is not read: a client gone meanwhile (FIN, then RST) is never
 * noticed, and the tunnel would stay open forever. So a direction paused for
 * server.idleTimeout closes both sides.
 */
function closeWhenStuck(ctx: ProxyContext, backend: Socket, client: Duplex): void {
  const ms = ctx.settings.idleTimeoutMs;
  for (const sender of [client, backend]) {
    let timer: NodeJS.Timeout | undefined;
    sender.on('pause', () => {
      timer ??= setTimeout(() => {
        ctx.limits.stalledWebSockets++;
        backend.destroy();
        client.destroy();
      }, ms).unref();
    });
    sender.on('resume', () => {
      clearTimeout(timer);
      timer = undefined;
    });
    sender.once('close', () => clearTimeout(timer));
  }
}
