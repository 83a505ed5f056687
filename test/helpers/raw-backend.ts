// A raw-TCP backend for smuggling and desync tests: it records every byte it
// receives, per connection, and reads them as a strict HTTP/1.1 server would
// (RFC 9112 §6.3), flagging anything ambiguous. What it answers is up to the
// test: by default a small JSON body naming the request it answers, so a
// client can tell whose answer it got.
import net, { type Socket } from 'node:net';
import { onCleanup } from './cleanup.js';

export interface ParsedRequest {
  /** Which connection (0-based, in accept order) carried it. */
  connection: number;
  method: string;
  path: string;
  /** Lower-cased names, as received (repeated fields kept). */
  headers: [string, string][];
  body: Buffer;
}

export interface RawBackend {
  url: string;
  port: number;
  /** Every byte received, one buffer per connection. */
  received: Buffer[];
  requests: ParsedRequest[];
  /** What a strict reader found ambiguous or broken (two lengths, a length with a coding, ...). */
  anomalies: string[];
  /** All bytes received on every connection, as latin1 text. */
  text(): string;
}

/** Answers a request: the bytes to write, or null to write nothing (the test writes itself). */
export type Answer = (req: ParsedRequest, socket: Socket) => string | Buffer | null;

/** The default answer: 200 with `{"path": ..., "method": ..., "bodyLength": ...}`. */
export const echoAnswer: Answer = (req) => {
  const body = JSON.stringify({ path: req.path, method: req.method, bodyLength: req.body.length });
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

export function header(req: ParsedRequest, name: string): string[] {
  return req.headers.filter(([n]) => n === name).map(([, v]) => v);
}

export async function startRawBackend(answer: Answer = echoAnswer): Promise<RawBackend> {
  const sockets = new Set<Socket>();
  const state: RawBackend = {
    url: '',
    port: 0,
    received: [],
    requests: [],
    anomalies: [],
    text: () => state.received.map((b) => b.toString('latin1')).join(''),
  };
  const server = net.createServer((socket) => {
    const index = state.received.length;
    state.received.push(Buffer.alloc(0));
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      state.received[index] = Buffer.concat([state.received[index]!, data]);
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const parsed = readRequest(pending, index, state.anomalies);
        if (parsed === null) return;
        if (parsed === 'broken') {
          socket.destroy();
          return;
        }
        pending = pending.subarray(parsed.used);
        state.requests.push(parsed.request);
        const reply = answer(parsed.request, socket);
        if (reply !== null) socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as net.AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

/** One request from the start of `data`; null: incomplete; 'broken': unreadable (the connection is dropped). */
function readRequest(data: Buffer, connection: number, anomalies: string[]): { request: ParsedRequest; used: number } | null | 'broken' {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const [method = '', path = '', version = ''] = lines[0]!.split(' ');
  if (!/^HTTP\/1\.[01]$/.test(version)) return flag(anomalies, `malformed request line: ${JSON.stringify(lines[0])}`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon)) || /^[ \t]/.test(line)) return flag(anomalies, `malformed header line: ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const lengths = headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
  const codings = headers.filter(([n]) => n === 'transfer-encoding').map(([, v]) => v);
  if (lengths.length > 1) anomalies.push(`${lengths.length} Content-Length fields: ${lengths.join(' | ')}`);
  if (lengths.length > 0 && codings.length > 0) anomalies.push(`Content-Length with Transfer-Encoding: ${lengths[0]} / ${codings.join(', ')}`);
  if (codings.length > 1 || (codings.length === 1 && codings[0]!.toLowerCase() !== 'chunked')) anomalies.push(`transfer coding: ${codings.join(', ')}`);
  if (!headers.some(([n]) => n === 'host')) anomalies.push(`no Host: ${method} ${path}`);
  const start = end + 4;
  const body = codings.length > 0 ? dechunk(data, start) : fixedLength(data, start, lengths[0]);
  if (body === null || body === 'broken') return body === null ? null : flag(anomalies, `unreadable body of ${method} ${path}`);
  return { request: { connection, method, path, headers, body: body.body }, used: body.used };
}

function flag(anomalies: string[], what: string): 'broken' {
  anomalies.push(what);
  return 'broken';
}

function fixedLength(data: Buffer, start: number, length: string | undefined): { body: Buffer; used: number } | null | 'broken' {
  if (length === undefined) return { body: Buffer.alloc(0), used: start };
  if (!/^\d+$/.test(length)) return 'broken';
  const n = Number(length);
  return data.length < start + n ? null : { body: data.subarray(start, start + n), used: start + n };
}

function dechunk(data: Buffer, start: number): { body: Buffer; used: number } | null | 'broken' {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const eol = data.indexOf('\r\n', pos);
    if (eol === -1) return null;
    const sizeText = data.toString('latin1', pos, eol).split(';')[0]!;
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return 'broken';
    const size = parseInt(sizeText, 16);
    pos = eol + 2;
    if (size === 0) {
      const trailersEnd = data.indexOf('\r\n\r\n', pos - 2);
      if (trailersEnd === -1) return null;
      return { body: Buffer.concat(parts), used: trailersEnd + 4 };
    }
    if (data.length < pos + size + 2) return null;
    if (data[pos + size] !== 13 || data[pos + size + 1] !== 10) return 'broken';
    parts.push(data.subarray(pos, pos + size));
    pos += size + 2;
  }
}
