// Who the client of a connection is, decided once when the connection is
// accepted and read by every request on it (forwarded headers, X-Debug, the
// access log): the TCP peer, or on a listener with proxyProtocol the source
// the PROXY header names (SPEC §6). Requests never look at the socket's
// remoteAddress themselves.

import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { logger } from '../log.js';
import type { ClientSocketInfo } from './client.js';
import { clientAddress, type ClientInfo } from './headers.js';
import { readProxyHeader } from './proxy-protocol.js';
import type { TrustedProxies } from './trust.js';

const log = logger('client-identity');

const CLIENT = Symbol('switchyard.client');
type Identified = { [CLIENT]?: ClientInfo };

/** The client of the connection `socket` is (or carries) a request of. */
export function connectionClient(socket: ClientSocketInfo): ClientInfo {
  // Every listener identifies its connections; a socket that was not is nobody to trust.
  return (socket as Identified)[CLIENT] ?? { remoteAddress: clientAddress(socket.remoteAddress), localPort: socket.localPort ?? 0, secure: socket.encrypted === true, trusted: false };
}

/**
 * A plain object that stands for `socket` with its client: for what outlives
 * the socket's own object (an HTTP/2 session's socket is a proxy that throws
 * once the session is gone, while its streams are still being logged).
 */
export function carryIdentity(socket: ClientSocketInfo): ClientSocketInfo {
  const carried: ClientSocketInfo & Identified = { remoteAddress: socket.remoteAddress, localPort: socket.localPort, encrypted: socket.encrypted === true };
  const client = (socket as Identified)[CLIENT];
  if (client !== undefined) carried[CLIENT] = client;
  return carried;
}

export interface IdentifyOptions {
  secure: boolean;
  /** Each connection must start with a PROXY header (http.proxyProtocol, https.proxyProtocol). */
  proxyProtocol: boolean;
  trust: TrustedProxies;
  /** How long a connection may take to send its PROXY header (ms). */
  headerTimeoutMs: number;
}

type ConnectionListener = (socket: Socket) => void;

/**
 * Identifies the client of every connection `server` accepts. With the PROXY
 * protocol the header is read first, and the listeners the server had
 * (node:http's, the fast front end's, node's TLS server's) get the socket
 * only after it, with the bytes that followed it.
 */
export function identifyClients(server: Server, o: IdentifyOptions): void {
  if (!o.proxyProtocol) {
    server.prependListener(o.secure ? 'secureConnection' : 'connection', (socket: Socket) => identify(socket, clientOf(null, socket, o)));
    return;
  }
  const next = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const handOver = o.secure ? handOverTls(server, next) : handOverPlain(server, next);
  server.on('connection', (socket: Socket) => readProxyHeaderOf(socket, o, handOver));
}

type HandOver = (socket: Socket, client: ClientInfo, unread: Buffer) => void;

function handOverPlain(server: Server, next: ConnectionListener[]): HandOver {
  return (socket, client, unread) => {
    identify(socket, client);
    for (const listener of next) listener.call(server, socket);
    // The new owner reads the socket from here on; these bytes came before it took over.
    if (unread.length > 0) socket.emit('data', unread);
  };
}

/**
 * The header precedes the TLS handshake. Node's TLS server reads the bytes
 * left in the socket's buffer before its own reads, and makes a TLS socket
 * (the one requests see) that shares the TCP connection's addresses: the
 * client waits under those until the handshake is done.
 */
function handOverTls(server: Server, next: ConnectionListener[]): HandOver {
  const waiting = new Map<string, ClientInfo>();
  server.prependListener('secureConnection', (tls: TLSSocket) => {
    const key = connectionKey(tls);
    const client = waiting.get(key);
    waiting.delete(key);
    if (client === undefined) return void tls.destroy();
    identify(tls, client);
  });
  return (socket, client, unread) => {
    const key = connectionKey(socket);
    waiting.set(key, client);
    socket.once('close', () => waiting.delete(key));
    socket.pause();
    if (unread.length > 0) socket.unshift(unread);
    for (const listener of next) listener.call(server, socket);
  };
}

/** Tells one open TCP connection of a listener from the others. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress} ${socket.remotePort} ${socket.localAddress} ${socket.localPort}`;
}

function identify(socket: Socket, client: ClientInfo): void {
  (socket as Identified)[CLIENT] = client;
}

/** The client named by a PROXY header's source, or the peer itself (no header, LOCAL, UNKNOWN). */
function clientOf(source: string | null, socket: Socket, o: IdentifyOptions): ClientInfo {
  const address = source ?? socket.remoteAddress;
  return { remoteAddress: clientAddress(address), localPort: socket.localPort ?? 0, secure: o.secure, trusted: o.trust.has(address) };
}

/**
 * Reads the PROXY header a connection must start with. A peer that is not
 * a trusted proxy, a header that is malformed or missing, or one not in
 * within the timeout: the connection is closed, nothing is answered.
 */
function readProxyHeaderOf(socket: Socket, o: IdentifyOptions, handOver: HandOver): void {
  const refuse = (reason: string): void => {
    log.warn('connection closed', { peer: socket.remoteAddress, reason });
    socket.destroy();
  };
  if (!o.trust.has(socket.remoteAddress)) return refuse('PROXY protocol from a peer not in server.trustedProxies');
  let data: Buffer | null = null;
  const onData = (chunk: Buffer): void => {
    data = data === null ? chunk : Buffer.concat([data, chunk]);
    const header = readProxyHeader(data);
    if (header.state === 'incomplete') return;
    stop();
    if (header.state === 'invalid') return refuse(header.reason);
    handOver(socket, clientOf(header.source, socket, o), data.subarray(header.length));
  };
  const onTimeout = (): void => {
    stop();
    refuse('no PROXY header in time');
  };
  const onError = (): void => void socket.destroy();
  const stop = (): void => {
    socket.setTimeout(0);
    socket.off('data', onData).off('timeout', onTimeout).off('error', onError);
  };
  socket.setTimeout(o.headerTimeoutMs);
  socket.on('data', onData).on('timeout', onTimeout).on('error', onError);
}
