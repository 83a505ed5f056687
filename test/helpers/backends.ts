import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { freePort } from './ports.js';

export interface RecordedRequest {
  method: string;
  url: string;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  /** Filled in once the body has been read (-1 until then, or for rawHandler). */
  bodyLength: number;
  bodySha256: string;
}

/** The default JSON answer: which backend answered and what it received. */
export interface EchoBody {
  name: string;
  method: string;
  url: string;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  bodyLength: number;
  bodySha256: string;
}

export interface HttpBackendOptions {
  name?: string;
  /** Status of the default answer (200). */
  status?: number;
  /** Extra response headers of the default answer (e.g. Retry-After, Set-Cookie arrays). */
  headers?: OutgoingHttpHeaders;
  /** Wait this long (after reading the body) before answering. */
  delayMs?: number;
  /** Replaces the default JSON body. */
  body?: string | Buffer;
  /** Answers instead of the default, after the body has been read. */
  handler?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  /** Answers instead of the default at once, body unread (for streaming/abort tests). */
  rawHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  scope?: CleanupScope;
}

export interface Backend {
  name: string;
  port: number;
  /** http://127.0.0.1:<port>, the form written into frontend:<host> lists. */
  url: string;
  requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

let counter = 0;

function trackSockets(server: http.Server): { sockets: Set<Socket>; accepted: () => number } {
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {}); // a proxy resetting us is not a test failure here
    socket.on('close', () => sockets.delete(socket));
  });
  return { sockets, accepted: () => accepted };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: net.Server, sockets: Set<Socket>, extra?: () => void): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((resolve) => {
      extra?.();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closing;
  };
}

export interface Counted {
  url: string;
  /** Connections accepted so far. */
  accepted: number;
  /** Connections open now. */
  open: () => number;
  /** Highest number of connections open at once. */
  peak: number;
  heads: string[];
}

/**
 * A raw TCP backend that hands each request head (and any body bytes that
 * came with it) to `respond`, and counts its connections. It parses nothing:
 * a head node:http would refuse reaches `respond` all the same.
 */
export async function countedBackend(respond: (socket: Socket, head: string, nth: number) => void): Promise<Counted> {
  const sockets = new Set<Socket>();
  const state: Counted = { url: '', accepted: 0, open: () => sockets.size, peak: 0, heads: [] };
  const server = net.createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    state.peak = Math.max(state.peak, sockets.size);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('latin1');
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const head = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        state.heads.push(head);
        respond(socket, head, state.heads.length);
      }
    });
  });
  state.url = `http://127.0.0.1:${await listen(server)}`;
  onCleanup(closer(server, sockets));
  return state;
}

export async function startHttpBackend(opts: HttpBackendOptions = {}): Promise<Backend> {
  counter += 1;
  const name = opts.name ?? `backend-${counter}`;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength: -1,
      bodySha256: '',
    };
    requests.push(record);
    if (opts.rawHandler) return opts.rawHandler(req, res);
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
      if (opts.handler) chunks.push(chunk);
    });
    req.on('error', () => {});
    req.on('end', () => {
      record.bodyLength = length;
      record.bodySha256 = hash.digest('hex');
      const answer = (): void => {
        if (opts.handler) return opts.handler(req, res, Buffer.concat(chunks));
        const echo: EchoBody = { name, ...pick(record) };
        const body = opts.body ?? JSON.stringify(echo);
        res.writeHead(opts.status ?? 200, {
          'content-type': opts.body === undefined ? 'application/json' : 'text/plain',
          'content-length': Buffer.byteLength(body),
          'x-backend-name': name,
          ...opts.headers,
        });
        res.end(body);
      };
      if (!opts.delayMs) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, opts.delayMs);
      timers.add(timer);
    });
  });
  const { sockets, accepted } = trackSockets(server);
  const port = await listen(server);
  const close = closer(server, sockets, () => timers.forEach(clearTimeout));
  onCleanup(close, opts.scope);
  return { name, port, url: `http://127.0.0.1:${port}`, requests, connections: accepted, close };
}

function pick(r: RecordedRequest): Omit<EchoBody, 'name'> {
  const { method, url, httpVersion, headers, bodyLength, bodySha256 } = r;
  return { method, url, httpVersion, headers, bodyLength, bodySha256 };
}

export interface WsUpgrade {
  url: string;
  headers: IncomingHttpHeaders;
}

export interface WsBackend extends Backend {
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  /** The upgrade requests received, with their headers. */
  upgrades: WsUpgrade[];
  /** Currently open WebSocket connections. */
  clients(): Set<WebSocket>;
}

export interface WsBackendOptions {
  name?: string;
  scope?: CleanupScope;
}

/** A WebSocket server echoing every message as `<name>:<message>`; plain HTTP gets the JSON echo. */
export async function startWsBackend(opts: WsBackendOptions = {}): Promise<WsBackend> {
  counter += 1;
  const name = opts.name ?? `ws-backend-${counter}`;
  const requests: RecordedRequest[] = [];
  const upgrades: WsUpgrade[] = [];
  const server = http.createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength: 0,
      bodySha256: '',
    };
    requests.push(record);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend-name': name });
      res.end(JSON.stringify({ name, ...pick(record) }));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('hex') : String(data);
      ws.send(`${name}:${text}`);
    });
  });
  wss.on('error', () => {});
  const { sockets, accepted } = trackSockets(server);
  const port = await listen(server);
  const close = closer(server, sockets, () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
  onCleanup(close, opts.scope);
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    requests,
    upgrades,
    connections: accepted,
    clients: () => wss.clients,
    close,
  };
}

/** A port on 127.0.0.1 with nothing listening: connecting to it is refused. */
export async function refusingPort(): Promise<number> {
  return freePort();
}
