// The one way a socket to a backend is opened, for pooled HTTP connections
// and WebSocket tunnels alike.
import net, { type OnReadOpts, type Socket } from 'node:net';
import tls from 'node:tls';
import type { BackendTarget } from '../../frontends/backend.js';

export interface BackendSocketOptions {
  host: string;
  port: number;
  noDelay: true;
  /** TLS SNI: a host name, never an IP literal (RFC 6066 §3). */
  servername?: string;
}

/** Where to connect for `target`, with TLS options for https://. */
export function backendSocketOptions(target: BackendTarget): BackendSocketOptions {
  // URL keeps an IPv6 literal in brackets ("[::1]"): neither DNS nor the socket wants them.
  const host = target.hostname.charCodeAt(0) === 91 /* [ */ ? target.hostname.slice(1, -1) : target.hostname;
  const options: BackendSocketOptions = { host, port: target.port, noDelay: true };
  // Without a servername the certificate is checked against `host`: an IP SAN for an IP backend.
  if (target.secure && net.isIP(host) === 0) options.servername = host;
  return options;
}

/** Opens a socket to `target`: TLS for https://; `onread` (plain TCP only) reads into the caller's buffers. */
export function dialBackend(target: BackendTarget, onread?: OnReadOpts): Socket {
  const options = backendSocketOptions(target);
  if (!target.secure) return net.connect(onread === undefined ? options : { ...options, onread });
  const socket = tls.connect(options);
  // tls.connect does not pass noDelay on to its TCP connection: set it once that is up.
  socket.once('connect', () => socket.setNoDelay(true));
  return socket;
}

/** The event after which a request may be sent: the TLS handshake done for https://, the TCP connect otherwise. */
export function readyEvent(target: BackendTarget): 'secureConnect' | 'connect' {
  return target.secure ? 'secureConnect' : 'connect';
}
