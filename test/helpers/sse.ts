// A Server-Sent Events client on a plain HTTP connection (what an
// EventSource does, with every byte in reach): the answer's head, then each
// message as it is framed (`event:`, `id:`, `data:` lines, a blank line).
import http, { type IncomingHttpHeaders } from 'node:http';
import { onCleanup } from './cleanup.js';
import { waitFor } from './wait.js';

export interface SseMessage {
  /** `message` when the stream named none. */
  event: string;
  id: string | null;
  data: string;
}

export interface EventStreamClient {
  status: number;
  headers: IncomingHttpHeaders;
  messages: SseMessage[];
  /** Comment lines (`: heartbeat`) seen so far. */
  comments: string[];
  /** Resolves with the first message (from the start) that `match` accepts. */
  next(match: (message: SseMessage) => boolean, message: string, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
  closed(): boolean;
}

/** Parses complete SSE blocks out of `buffer`; returns what is left (a block not yet ended). */
function parseBlocks(buffer: string, client: Pick<EventStreamClient, 'messages' | 'comments'>): string {
  let end: number;
  while ((end = buffer.indexOf('\n\n')) !== -1) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const message: SseMessage = { event: 'message', id: null, data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) client.comments.push(line.slice(1).trim());
      const colon = line.indexOf(':');
      const [field, value] = colon <= 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
      if (field === 'event') message.event = value;
      else if (field === 'id') message.id = value;
      else if (field === 'data') data.push(value);
    }
    message.data = data.join('\n');
    if (data.length > 0) client.messages.push(message);
  }
  return buffer;
}

/** Opens GET `path` (default /events/stream) on the admin port; resolves once the answer's head arrived. */
export function openEventStream(port: number, headers: Record<string, string> = {}, path = '/events/stream'): Promise<EventStreamClient> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      let buffer = '';
      let ended = false;
      const client: EventStreamClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages: [],
        comments: [],
        next: (match, message, timeoutMs = 10_000) => waitFor(() => client.messages.find(match), { timeoutMs, message }),
        close: () => req.destroy(),
        closed: () => ended,
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (buffer = parseBlocks(buffer + chunk, client)));
      res.on('error', () => {});
      res.on('close', () => (ended = true));
      onCleanup(() => req.destroy());
      resolve(client);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The JSON of a message's data. */
export function dataOf<T = Record<string, any>>(message: SseMessage): T {
  return JSON.parse(message.data) as T;
}
