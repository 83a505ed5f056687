// A bare HTTP/2 client that writes frames byte by byte, for requests that
// node:http2's client refuses to send (connection-specific fields, upper-case
// names, a repeated pseudo-header). Header blocks are HPACK literals without
// indexing and without Huffman coding; only what a test asserts is decoded.
import tls, { type TLSSocket } from 'node:tls';
import { onCleanup } from './cleanup.js';
import { waitFor } from './wait.js';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export interface RawH2 {
  socket: TLSSocket;
  frames: Frame[];
  /** Sends a HEADERS frame (END_HEADERS set; END_STREAM when `endStream`). */
  headers(stream: number, fields: [string, string][], endStream?: boolean): void;
  data(stream: number, body: Buffer, endStream?: boolean): void;
  /** Sends RST_STREAM with `code`. */
  reset(stream: number, code: number): void;
  /** The first frame of `type` on `stream` (waits for it). */
  next(stream: number, types: number[]): Promise<Frame>;
  close(): void;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), H bit clear. */
function length7(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const bytes = [127];
  n -= 127;
  while (n >= 128) {
    bytes.push((n & 0x7f) | 0x80);
    n >>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), length7(n.length), n, length7(v.length), v]);
}

export async function connectRawH2(port: number): Promise<RawH2> {
  const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
  onCleanup(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN gave ${socket.alpnProtocol}`);
  const frames: Frame[] = [];
  let pending = Buffer.alloc(0);
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const f = { type: pending[3]!, flags: pending[4]!, stream: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + length) };
      pending = pending.subarray(9 + length);
      frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0, Buffer.alloc(0)));
    }
  });
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
  return {
    socket,
    frames,
    headers: (stream, fields, endStream = true) => {
      const block = Buffer.concat(fields.map(([n, v]) => literal(n, v)));
      socket.write(frame(FRAME.HEADERS, 0x4 | (endStream ? 0x1 : 0), stream, block));
    },
    data: (stream, body, endStream = true) => void socket.write(frame(FRAME.DATA, endStream ? 1 : 0, stream, body)),
    reset: (stream, code) => {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(code);
      socket.write(frame(FRAME.RST_STREAM, 0, stream, payload));
    },
    next: (stream, types) =>
      waitFor(() => frames.find((f) => f.stream === stream && types.includes(f.type)), { message: `a frame of type ${types.join('/')} on stream ${stream}` }),
    close: () => void socket.destroy(),
  };
}

/** The :status of a response HEADERS frame the proxy encoded with an indexed static entry (RFC 7541 Appendix A), or -1. */
export function indexedStatus(f: Frame): number {
  const statuses: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
  const first = f.payload[0]!;
  return (first & 0x80) !== 0 ? statuses[first & 0x7f] ?? -1 : -1;
}
