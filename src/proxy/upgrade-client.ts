import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from './failure.js';
import { RequestRecord } from './request-end.js';
import type { ProxyContext } from './settings.js';

/**
 * The client's side of one upgrade (what request.ts's Client is to a
 * request): its socket, how it was answered, and what was learnt on the way,
 * told once when the socket closes (the tunnel's end, for one that opened).
 */
export class UpgradeClient extends RequestRecord {
  constructor(
    ctx: ProxyContext,
    req: IncomingMessage,
    readonly socket: Duplex,
    remoteAddress: string,
    requestId: string,
    /** X-Debug from a trusted peer: errors carry x-debug-error. */
    readonly debug: boolean,
  ) {
    super(ctx, req, remoteAddress, requestId);
    socket.once('close', this.#closed);
  }

  /** The backend switched protocols: a request served (counted now, not when the tunnel ends), and a tunnel open until the socket closes. */
  switched(): void {
    this.status = 101;
    this.count();
    this.ctx.traffic.open.websocket++;
  }

  readonly #closed = (): void => {
    if (this.status === 101) this.ctx.traffic.open.websocket--;
    if (this.status === 0) this.status = 499; // gone before any answer
    if (this.bytesOut >= 0) this.bytes = this.bytesOut;
    this.ended();
  };

  /** Answers an upgrade that cannot go on with an HTTP error, and closes the connection. */
  reject(status: number, code: ErrorCode): void {
    this.error = code;
    const body = `${status} ${STATUS_CODES[status]}\n`;
    const debugHeader = this.debug ? `x-debug-error: ${code}\r\n` : '';
    this.#answer(status, `Content-Type: text/plain\r\n${debugHeader}`, body);
  }

  /** An upgrade over plain HTTP to a redirectHttps vhost: 308 to the same URL over HTTPS, and the connection closes. */
  redirect(location: string): void {
    this.#answer(308, `Location: ${location}\r\n`, '');
  }

  /** `headers`: complete header lines, each ended by CRLF (built by the proxy, never from the request as it is). */
  #answer(status: number, headers: string, body: string): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    this.status = status;
    this.bytes = body.length;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers}Content-Length: ${body.length}\r\n` +
        `X-Request-Id: ${this.requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

/**
 * A relayed answer's head: the proxy's framing (Content-Length when known, else until close) and Connection: close.
 * `extra`: the proxy's own header lines (each ended by CRLF).
 */
export function answerHead(status: number, statusText: string, headers: string[], extra = ''): string {
  let head = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + extra + 'Connection: close\r\n\r\n';
}
