// GET /events/stream: the configuration events as Server-Sent Events. Each
// open stream is one listener of the shared EventFeed; a heartbeat comment
// keeps proxies and browsers from closing a quiet stream, and a stream that
// is gone, or too slow to take what it is sent, is dropped with everything
// it held.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventFeed, FeedMessage } from './event-feed.js';

/** Longer than this without a byte and some proxies (and browsers) close the stream. */
const HEARTBEAT_MS = 15_000;
/** A reader this far behind is cut: its EventSource reconnects and resumes, or resyncs. */
const MAX_BUFFERED = 1 << 20;
/** How long an EventSource waits before reconnecting. */
const RETRY_MS = 2000;
/**
 * Streams open at once, at most: each holds a descriptor of the master,
 * which needs descriptors to fork replacement workers. A status page is one
 * stream; a hundred operators watching is plenty.
 */
export const MAX_STREAMS = 100;

/** One SSE message: `event:` only for the kinds that are not plain configuration events. */
export function frame(message: FeedMessage): string {
  if (message.kind === 'resync') return `event: resync\ndata: ${JSON.stringify({ reason: message.reason, ...message.position })}\n\n`;
  return `id: ${message.id}\ndata: ${JSON.stringify(message.event)}\n\n`;
}

export class EventStreams {
  readonly #open = new Set<ServerResponse>();
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly feed: EventFeed) {}

  get open(): number {
    return this.#open.size;
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.#open.size >= MAX_STREAMS) {
      const body = JSON.stringify({ error: 'TOO_MANY_STREAMS', message: `${MAX_STREAMS} event streams are open already` }) + '\n';
      res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '10', 'Cache-Control': 'no-store' });
      return void res.end(body);
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // nginx and others buffer answers unless told not to.
      'X-Accel-Buffering': 'no',
    });
    if (req.method === 'HEAD') return void res.end();
    res.write(`retry: ${RETRY_MS}\n\n`);
    const lastEventId = req.headers['last-event-id'];
    const unsubscribe = this.feed.subscribe((message) => this.#send(res, message), typeof lastEventId === 'string' ? lastEventId : null);
    this.#open.add(res);
    this.#heartbeat ??= setInterval(() => this.#beat(), HEARTBEAT_MS);
    res.on('close', () => {
      unsubscribe();
      this.#open.delete(res);
      if (this.#open.size === 0) this.#stopHeartbeat();
    });
  }

  /** Ends every stream (the admin listener is closing: an open stream would hold it open). */
  closeAll(): void {
    for (const res of this.#open) res.destroy();
  }

  #send(res: ServerResponse, message: FeedMessage): void {
    if (res.destroyed) return;
    res.write(frame(message));
    if (res.writableLength > MAX_BUFFERED) res.destroy();
  }

  #beat(): void {
    for (const res of this.#open) if (!res.destroyed) res.write(': heartbeat\n\n');
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
