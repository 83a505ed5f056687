// Header passes between client and backend (RFC 9110 §7.6.1): hop-by-hop
// headers are connection-scoped and never forwarded; X-Forwarded-* are added
// only when the client did not send them, and replace an untrusted peer's.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Headers a Connection field can name without effect: the message's framing
 * and its Host (what the proxy parsed is what it forwards: dropping
 * Content-Length because `Connection: content-length` said so would let the
 * body pass as a second request), and the forwarding headers the proxy
 * itself vouches for.
 */
const NOT_NAMEABLE = new Set(['host', 'content-length', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-protocol', 'x-forwarded-port']);

/** The client of a connection, known once it is accepted (client-identity.ts). */
export interface ClientInfo {
  /** The client's address: the TCP peer, or the PROXY header's source; IPv4-mapped IPv6 shown as IPv4. */
  remoteAddress: string;
  localPort: number;
  secure: boolean;
  /**
   * The address is in server.trustedProxies: the X-Forwarded-* and X-Real-IP
   * it sends are kept as they are (SPEC §6), and X-Debug is honoured.
   */
  trusted: boolean;
}

/** The request header fields the proxy acts on, read in one pass over the raw list. */
export interface RequestHeadFields {
  /** The first Host field. */
  host: string | undefined;
  /** More than one Host field: the request gets 400 (RFC 9112 §3.2), as the backend might route by another one. */
  hostRepeated: boolean;
  /** Every Connection field, joined. */
  connection: string | undefined;
  debug: boolean;
  /** A body follows: a non-zero Content-Length or a transfer coding. */
  hasBody: boolean;
  chunked: boolean;
  /** The X-Request-Id field; '' when it was sent more than once (which one would the backend believe?). */
  requestId: string | undefined;
  /** X-Forwarded-Proto said "https" (believed only from a trusted peer: a TLS-terminating load balancer). */
  forwardedHttps: boolean;
}

/**
 * Reads Host, Connection, X-Debug, X-Request-Id and the body framing from `rawHeaders`
 * without building IncomingMessage's header object (comparing names only
 * when their length matches keeps this cheap).
 */
export function scanRequestHead(rawHeaders: string[]): RequestHeadFields {
  const fields: RequestHeadFields = { host: undefined, hostRepeated: false, connection: undefined, debug: false, hasBody: false, chunked: false, requestId: undefined, forwardedHttps: false };
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          if (fields.host === undefined) fields.host = rawHeaders[i + 1];
          else fields.hostRepeated = true;
        }
        break;
      case 7:
        if (name.toLowerCase() === 'x-debug') fields.debug = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') fields.connection = fields.connection === undefined ? rawHeaders[i + 1] : `${fields.connection}, ${rawHeaders[i + 1]}`;
        break;
      case 12: // Content-Type has this length too: the first letter spares lower-casing it
        if ((name.charCodeAt(0) | 0x20) === 0x78 && name.toLowerCase() === 'x-request-id') fields.requestId = fields.requestId === undefined ? rawHeaders[i + 1] : '';
        break;
      case 14:
        if (name.toLowerCase() === 'content-length' && rawHeaders[i + 1] !== '0') fields.hasBody = true;
        break;
      case 17: {
        const lower = name.toLowerCase();
        if (lower === 'transfer-encoding') fields.hasBody = fields.chunked = true;
        else if (lower === 'x-forwarded-proto') fields.forwardedHttps = rawHeaders[i + 1]!.trim().toLowerCase() === 'https';
        break;
      }
    }
  }
  return fields;
}

/** Tokens named by a Connection header: those headers are hop-by-hop too. */
function connectionTokens(value: string | undefined): Set<string> | null {
  if (value === undefined || value === '') return null;
  const tokens = new Set<string>();
  for (const t of value.split(',')) tokens.add(t.trim().toLowerCase());
  return tokens;
}

function isHopByHop(lower: string, named: Set<string> | null, keepUpgrade: boolean): boolean {
  if (keepUpgrade && (lower === 'connection' || lower === 'upgrade')) return false;
  if (HOP_BY_HOP.has(lower) || lower.startsWith('proxy-')) return true;
  return named !== null && named.has(lower) && !NOT_NAMEABLE.has(lower);
}

/**
 * The flat [name, value, ...] list sent to the backend, or null when the
 * request's body framing is ambiguous (RFC 9112 §6.3: Content-Length with
 * Transfer-Encoding, two Content-Lengths, a coding other than chunked): such
 * a request must never reach a backend. An untrusted client's X-Forwarded-*,
 * X-Real-IP and Forwarded are dropped; a trusted one's are kept, not appended
 * to (SPEC §6). The missing X-Forwarded-* are added. `hostOverride`
 * replaces Host for an absolute-form target. `upgrade` keeps Connection and
 * Upgrade for a WebSocket handshake. Whatever X-Request-Id the client sent,
 * the backend gets exactly one: `requestId` (request-id.ts decides it).
 */
export function forwardRequestHeaders(
  rawHeaders: string[],
  client: ClientInfo,
  connection: string | undefined,
  hostOverride: string | null,
  upgrade: boolean,
  requestId: string,
): string[] | null {
  const named = connectionTokens(connection);
  const out: string[] = [];
  let xff = false, realIp = false, proto = false, protocol = false, port = false;
  let lengths = 0, codings = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === 'content-length') lengths++;
    else if (lower === 'transfer-encoding') {
      if (rawHeaders[i + 1]!.trim().toLowerCase() !== 'chunked') return null;
      codings++;
    }
    if (isHopByHop(lower, named, upgrade) || lower === 'expect') continue;
    if (lower === 'host' && hostOverride !== null) continue;
    if (lower === 'x-request-id') continue; // added below, once
    if (!client.trusted && isClientIdentityHeader(lower)) continue; // replaced by the proxy's own below
    switch (lower) {
      case 'x-forwarded-for': xff = true; break;
      case 'x-real-ip': realIp = true; break;
      case 'x-forwarded-proto': proto = true; break;
      case 'x-forwarded-protocol': protocol = true; break;
      case 'x-forwarded-port': port = true; break;
    }
    out.push(name, rawHeaders[i + 1]!);
  }
  if (lengths > 1 || codings > 1 || (lengths > 0 && codings > 0)) return null;
  if (upgrade) {
    if (!out.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'connection')) out.push('Connection', 'Upgrade');
  }
  if (hostOverride !== null) out.push('Host', hostOverride);
  const scheme = client.secure ? 'https' : 'http';
  if (!xff) out.push('X-Forwarded-For', client.remoteAddress);
  if (!realIp) out.push('X-Real-IP', client.remoteAddress);
  if (!proto) out.push('X-Forwarded-Proto', scheme);
  if (!protocol) out.push('X-Forwarded-Protocol', scheme);
  if (!port) out.push('X-Forwarded-Port', String(client.localPort));
  out.push('X-Request-Id', requestId);
  return out;
}

/**
 * Headers that tell a backend who the client is: all X-Forwarded-* (-Host
 * and -Prefix too, which a backend may build URLs from), X-Real-IP and RFC
 * 7239 Forwarded. An untrusted peer's would be forged: none is forwarded.
 */
function isClientIdentityHeader(lower: string): boolean {
  return lower.startsWith('x-forwarded-') || lower === 'x-real-ip' || lower === 'forwarded';
}

/**
 * The backend's response headers as a flat list for writeHead: hop-by-hop
 * removed, and the framing the proxy's own (RFC 9112 §6.3): the backend's
 * Content-Length is never relayed; `contentLength` (what the parser found, or
 * -1 when the body runs to a chunked end or the connection's) is sent
 * instead, and without it the client side frames the body itself (chunked).
 * The client gets the request's own X-Request-Id, once, whether or not the
 * backend echoed it (or sent another). `sts`, when not null, replaces the
 * backend's Strict-Transport-Security (https-policy.ts `stsValue`; '' for none).
 */
export function forwardResponseHeaders(raw: string[], contentLength: number, requestId: string, sts: string | null = null): { headers: string[]; retryAfter: boolean } {
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      const tokens = connectionTokens(raw[i + 1]);
      if (tokens !== null) named = named === null ? tokens : new Set([...named, ...tokens]);
    }
  }
  const headers: string[] = [];
  let retryAfter = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'x-request-id' || isHopByHop(lower, named, false)) continue;
    if (sts !== null && lower === 'strict-transport-security') continue;
    if (lower === 'retry-after') retryAfter = true;
    headers.push(name, raw[i + 1]!);
  }
  if (contentLength >= 0) headers.push('Content-Length', String(contentLength));
  if (sts) headers.push('Strict-Transport-Security', sts);
  headers.push('X-Request-Id', requestId);
  return { headers, retryAfter };
}

/** The request line and header lines of a request head, each ended by CRLF (the blank line is the caller's). */
export function requestHeadLines(method: string, path: string, headers: string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head;
}

/** Client address as Hipache logged it: IPv4-mapped IPv6 shown as IPv4. */
export function clientAddress(address: string | undefined): string {
  if (address === undefined) return '-';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
