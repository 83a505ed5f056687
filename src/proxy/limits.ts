// SPEC §6 "Limits", the parts that belong to no single connection: what the
// limits did in this worker (plain counters, shown by the admin API's /status),
// and server.maxConnections, which counts connections over every listener.

import type { Server, Socket } from 'node:net';
import { logger } from '../log.js';
import type { Protocol } from './traffic.js';

const log = logger('limits');

/** At most one log line per this many ms about connections closed for maxConnections. */
const REJECT_LOG_INTERVAL_MS = 10_000;

/** What the limits did in this worker. Plain counters, bumped in place. */
export class LimitCounters {
  /** Client connections open now, over all listeners. */
  openConnections = 0;
  /** Connections closed at once because `maxConnections` were open. */
  rejectedConnections = 0;
  /** Requests whose body stalled for idleTimeout: 408 (or the connection closed), the backend request aborted. */
  stalledUploads = 0;
  /** Answers cut because the client read nothing of them for idleTimeout. */
  stalledDownloads = 0;
  /** WebSockets closed after websocketIdleTimeout without a byte either way. */
  idleWebSockets = 0;
  /** WebSockets closed because one side took nothing of what the other sent for idleTimeout. */
  stalledWebSockets = 0;
}

/** How long a client may stall an exchange (server.idleTimeout), and where stalls are counted. */
export interface ClientStallLimit {
  readonly ms: number;
  readonly counters: LimitCounters;
}

/**
 * server.maxConnections: the client connections of one worker, counted over
 * all its listeners. Beyond the limit a connection is closed as it is
 * accepted, before a byte is read or a TLS handshake starts.
 */
export class ConnectionLimit {
  #lastLog = -Infinity;

  constructor(
    /** 0: no limit (connections are still counted). */
    readonly max: number,
    readonly counters: LimitCounters,
    /** Connections open now by protocol (switchyard_open_connections). */
    private readonly open: Record<Protocol, number>,
  ) {}

  /** Puts the limit in front of every 'connection' listener `server` (serving `protocol`) has now. */
  guard(server: Server, protocol: 'http' | 'https'): void {
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    const closed = (): void => {
      this.counters.openConnections--;
      this.open[protocol]--;
    };
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (this.max > 0 && this.counters.openConnections >= this.max) return this.#reject(socket);
      this.counters.openConnections++;
      this.open[protocol]++;
      socket.once('close', closed);
      for (const listener of listeners) listener.call(server, socket);
    });
  }

  #reject(socket: Socket): void {
    socket.on('error', () => {});
    socket.destroy();
    const counters = this.counters;
    counters.rejectedConnections++;
    const now = performance.now();
    if (now - this.#lastLog < REJECT_LOG_INTERVAL_MS) return;
    this.#lastLog = now;
    // Rate-limited: a flood of connections must not become a flood of log lines (the total is in /status).
    log.warn('connection closed: server.maxConnections reached', { max: this.max, rejected: counters.rejectedConnections });
  }
}
