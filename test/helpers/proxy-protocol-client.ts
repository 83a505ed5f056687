// Clients that speak through a PROXY protocol header: the header first, then
// plain HTTP or a TLS handshake, as a TCP load balancer forwards a client.
import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { rawRequest, type RawResult } from './http.js';
import { delay, waitFor } from './wait.js';

/** Readiness of a proxy whose HTTP listener wants the PROXY protocol: a ping behind `PROXY UNKNOWN` answers 200. */
export async function readyBehindProxyHeader(port: number, address: string): Promise<boolean> {
  const res = await rawRequest(port, `PROXY UNKNOWN\r\nGET / HTTP/1.1\r\nHost: __ping__\r\nConnection: close\r\n\r\n`, { address, timeoutMs: 1000 });
  return res.status === 200;
}

/** Readiness of a listener that closes every connection of this peer: it accepts them (then closes), instead of refusing. */
export async function acceptsThenCloses(port: number, address: string): Promise<boolean> {
  const res: RawResult = await rawRequest(port, '', { address, timeoutMs: 1000 });
  return res.closed && res.error === undefined;
}

/**
 * A TLS connection behind a PROXY header. `together`: the header and the
 * ClientHello leave in one write (the proxy reads both at once); otherwise
 * the header is sent alone and the handshake starts a moment later.
 */
export async function tlsBehindProxyHeader(port: number, header: Buffer, together: boolean, ALPNProtocols?: string[]): Promise<tls.TLSSocket> {
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  await once(raw, 'connect');
  let transport: Duplex = raw;
  if (together) {
    transport = prefixFirstWrite(raw, header);
  } else {
    raw.write(header);
    await delay(50); // no way to see the proxy has read it: give it the time to, so the handshake comes in a later read
  }
  const socket = tls.connect({ socket: transport, rejectUnauthorized: false, servername: 'localhost', ...(ALPNProtocols ? { ALPNProtocols } : {}) });
  await once(socket, 'secureConnect');
  return socket;
}

/** A duplex over `raw` whose first write is sent as `prefix` + that write, in one piece. */
function prefixFirstWrite(raw: net.Socket, prefix: Buffer): Duplex {
  let first = true;
  const duplex = new Duplex({
    read: () => void raw.resume(),
    write(chunk: Buffer, _encoding, callback) {
      raw.write(first ? Buffer.concat([prefix, chunk]) : chunk, callback);
      first = false;
    },
    final(callback) {
      raw.end();
      callback();
    },
    destroy(err, callback) {
      raw.destroy();
      callback(err);
    },
  });
  raw.on('data', (d: Buffer) => {
    if (!duplex.push(d)) raw.pause();
  });
  raw.on('end', () => duplex.push(null));
  raw.on('close', () => duplex.destroy());
  return duplex;
}

/** Everything `socket` receives until `pattern` matches it (or the socket closes: then what came). */
export async function readUntil(socket: Duplex, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  let text = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  await waitFor(() => pattern.test(text) || closed, { timeoutMs, intervalMs: 10, message: `a reply matching ${pattern}` });
  return text;
}
