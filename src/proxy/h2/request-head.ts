// What crosses from an HTTP/2 request to the HTTP/1.1 request the proxy
// forwards (RFC 9113 §8.2-8.3). nghttp2 already resets a stream whose
// header block breaks the framing rules (upper-case names, a pseudo-header
// repeated, unknown or after a regular field, a Content-Length the DATA
// does not match); these checks are the ones the proxy's own forwarding
// depends on, made again here so that nothing relies on a library default.

/** RFC 9113 §8.2.2: fields that only mean something on an HTTP/1.1 connection. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** An HTTP/2 request as the HTTP/1.1 engine reads it. */
export interface H2RequestHead {
  method: string;
  /** `:path`: origin form, or "*" for OPTIONS. */
  url: string;
  /**
   * Flat [name, value, ...] as an HTTP/1.1 request would carry them: Host
   * from `:authority` (which wins over a Host field, §8.3.1), no
   * pseudo-header, the cookie fields joined into one (§8.2.3), and a body
   * without a Content-Length framed chunked, as the backend must get it.
   */
  rawHeaders: string[];
  /** `Expect: 100-continue` with a body to come: the client waits for a 100 (node:http sends it on HTTP/1.1). */
  expectContinue: boolean;
}

/** Why a request cannot be served: `malformed` is a stream error (PROTOCOL_ERROR); `connect` a refused method. */
export type H2HeadError = 'malformed' | 'connect';

/**
 * Reads a request's header block (Node's flat raw list). `endStream`: the
 * HEADERS frame ended the stream, so there is no body.
 */
export function readH2RequestHead(raw: readonly string[], endStream: boolean): H2RequestHead | H2HeadError {
  let method: string | undefined, path: string | undefined, authority: string | undefined, scheme: string | undefined;
  const rawHeaders: string[] = [];
  const cookies: string[] = [];
  let length = false;
  let expectContinue = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (rawHeaders.length > 0 || cookies.length > 0) return 'malformed'; // §8.3: pseudo-headers come first
      switch (name) {
        case ':method': if (method !== undefined) return 'malformed'; method = value; break;
        case ':path': if (path !== undefined) return 'malformed'; path = value; break;
        case ':authority': if (authority !== undefined) return 'malformed'; authority = value; break;
        case ':scheme': if (scheme !== undefined) return 'malformed'; scheme = value; break;
        default: return 'malformed'; // :protocol (extended CONNECT is not enabled), :status, unknown ones
      }
      continue;
    }
    if (name !== name.toLowerCase()) return 'malformed'; // §8.2.1
    if (CONNECTION_SPECIFIC.has(name)) return 'malformed';
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') return 'malformed';
    if (name === 'cookie') {
      cookies.push(value);
      continue;
    }
    if (name === 'host' && authority !== undefined) continue;
    if (name === 'content-length') length = true;
    else if (name === 'expect' && value.trim().toLowerCase() === '100-continue') expectContinue = !endStream;
    rawHeaders.push(name, value);
  }
  if (method === 'CONNECT') return 'connect';
  if (method === undefined || method === '' || path === undefined || scheme === undefined) return 'malformed'; // §8.3.1
  if (path.charCodeAt(0) !== 47 /* / */ && !(path === '*' && method === 'OPTIONS')) return 'malformed';
  if (authority !== undefined) rawHeaders.unshift('host', authority);
  if (cookies.length > 0) rawHeaders.push('cookie', cookies.join('; '));
  if (!endStream && !length) rawHeaders.push('transfer-encoding', 'chunked');
  return { method, url: path, rawHeaders, expectContinue };
}
