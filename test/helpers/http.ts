import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

export interface HttpResponse {
  status: number;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
  /** Local port of the client socket (tells whether a keep-alive connection was reused). */
  localPort: number;
}

export interface RequestOptions {
  port: number;
  /** The Host header to send; omit (or null) to send none. Connects to `address` regardless. */
  host?: string | null;
  address?: string;
  method?: string;
  path?: string;
  /** An object, or a flat [name, value, name, value...] array for repeated headers. */
  headers?: OutgoingHttpHeaders | string[];
  body?: string | Buffer;
  timeoutMs?: number;
  /** A keep-alive agent to reuse connections; by default a fresh connection (agent: false). */
  agent?: http.Agent;
}

/** One HTTP request on its own connection (agent:false); the whole body is buffered. */
export function request(opts: RequestOptions): Promise<HttpResponse> {
  const { port, host, address = '127.0.0.1', method = 'GET', path = '/', body, timeoutMs = 15_000 } = opts;
  let headers: OutgoingHttpHeaders | string[];
  if (Array.isArray(opts.headers)) {
    headers = host == null ? [...opts.headers] : ['Host', host, ...opts.headers];
    const names = headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    if (body !== undefined && !names.includes('content-length') && !names.includes('transfer-encoding')) {
      headers.push('Content-Length', String(Buffer.byteLength(body)));
    }
  } else {
    headers = { ...opts.headers };
    if (host != null) headers.host = host;
    // Node frames a DELETE/OPTIONS body with neither header: say it explicitly.
    if (body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
      headers['content-length'] = Buffer.byteLength(body);
    }
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: address, port, method, path, headers, setHost: false, agent: opts.agent ?? false },
      (res) => {
        const localPort = res.socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            httpVersion: res.httpVersion,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: data,
            text: data.toString(),
            localPort,
          });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Parses the JSON echo body of a default test backend. */
export function json<T = Record<string, unknown>>(res: HttpResponse): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${res.text.slice(0, 300)}`);
  }
}

export interface RawResult {
  data: Buffer;
  text: string;
  /** The server closed (or reset) the connection before the timeout. */
  closed: boolean;
  timedOut: boolean;
  error?: string;
  /** Status of the first response, or 0 when nothing parseable arrived. */
  status: number;
}

/** The status code of the first HTTP response in `text` (0 if none). */
export function statusOf(text: string): number {
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

export interface RawOptions {
  timeoutMs?: number;
  address?: string;
  /** Half-close our side after writing (default false: servers may treat FIN as abort). */
  end?: boolean;
}

/** Writes `bytes` verbatim and returns everything the server sent until it closed or `timeoutMs`. */
export function rawRequest(port: number, bytes: string | Buffer, opts: RawOptions = {}): Promise<RawResult> {
  const { timeoutMs = 5000, address = '127.0.0.1', end = false } = opts;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let timedOut = false;
    const socket = net.connect(port, address);
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(bytes);
      if (end) socket.end();
    });
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const data = Buffer.concat(chunks);
      const text = data.toString('latin1');
      const result: RawResult = { data, text, closed: !timedOut, timedOut, status: statusOf(text) };
      if (error !== undefined) result.error = error;
      resolve(result);
    });
  });
}

export interface RawResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ', ' (set-cookie: '\n'). */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A raw client connection kept open across requests (keep-alive and
 * pipelining tests): write bytes, then read one response at a time.
 * Understands Content-Length, chunked and read-until-close bodies.
 */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private waiter: (() => void) | undefined;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.waiter?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static open(port: number, address = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, address, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** The same over TLS (any certificate accepted); `options` e.g. to offer ALPN protocols. */
  static openTls(port: number, address = '127.0.0.1', options: tls.ConnectionOptions = {}): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ port, host: address, rejectUnauthorized: false, ...options }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Reads the next complete response; `head: true` for a response to HEAD (no body). */
  async readResponse({ timeoutMs = 5000, head = false } = {}): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.tryParse(head);
      if (parsed) return parsed;
      if (this.closed) throw new Error(`connection closed; partial data: ${this.buffer.toString('latin1').slice(0, 200)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  private tryParse(head: boolean): RawResponse | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = statusOf(lines[0] ?? '');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      const sep = name === 'set-cookie' ? '\n' : ', ';
      headers[name] = headers[name] === undefined ? value : `${headers[name]}${sep}${value}`;
    }
    const rest = this.buffer.subarray(end + 4);
    const noBody = head || status === 204 || status === 304 || (status >= 100 && status < 200);
    const bodyEnd = noBody ? { body: Buffer.alloc(0), used: 0 } : frameBody(rest, headers, this.closed);
    if (!bodyEnd) return undefined;
    this.buffer = rest.subarray(bodyEnd.used);
    return { status, headers, body: bodyEnd.body };
  }
}

function frameBody(
  rest: Buffer,
  headers: Record<string, string>,
  closed: boolean,
): { body: Buffer; used: number } | undefined {
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return dechunk(rest);
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    return rest.length >= n ? { body: rest.subarray(0, n), used: n } : undefined;
  }
  return closed ? { body: rest, used: rest.length } : undefined;
}

function dechunk(data: Buffer): { body: Buffer; used: number } | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', pos);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(pos, lineEnd).toString('latin1'), 16);
    pos = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n\r\n', pos - 2);
      if (trailerEnd < 0) return undefined;
      return { body: Buffer.concat(parts), used: trailerEnd + 4 };
    }
    if (data.length < pos + size + 2) return undefined;
    parts.push(data.subarray(pos, pos + size));
    pos += size + 2;
  }
}

/**
 * Writes `bytes` on a fresh connection and resolves with the first complete
 * response, without waiting for the server to close (a kept-alive 400 would
 * otherwise cost the whole timeout). Rejects when none arrives.
 */
export async function firstResponse(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  const conn = await RawConnection.open(port);
  try {
    conn.write(bytes);
    return await conn.readResponse({ timeoutMs });
  } finally {
    conn.close();
  }
}

export interface HttpsResponse extends HttpResponse {
  /** CN of the certificate the proxy presented. */
  peerCN: string;
}

export interface HttpsRequestOptions {
  method?: string;
  path?: string;
  body?: string;
  agent?: https.Agent;
}

/** One HTTPS request (certificate not verified), on its own connection unless `agent` is given; the whole body buffered. */
export function httpsRequest(port: number, host: string, opts: HttpsRequestOptions = {}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = https.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers, rejectUnauthorized: false, agent: opts.agent ?? false },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const peerCN = String(socket.getPeerCertificate().subject?.CN ?? '');
        const localPort = socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const { statusCode = 0, httpVersion, headers: h, rawHeaders } = res;
          resolve({ status: statusCode, httpVersion, headers: h, rawHeaders, body, text: body.toString(), localPort, peerCN });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('https request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}
