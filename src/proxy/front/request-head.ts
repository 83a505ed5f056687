// The request heads the fast front end serves itself: the common case,
// checked by one regular expression over the whole head, with no body or a
// body of one plain Content-Length. Anything else (a chunked body, an
// upgrade, Expect, an absolute-form target, HTTP/1.0, a head split across
// reads, no Host, a byte node:http would reject) is left to node:http, which
// gets the same bytes and answers as it always did.

export interface SimpleRequestHead {
  method: string;
  url: string;
  /** Flat [name, value, ...], names as sent, values without surrounding spaces (as node:http gives them). */
  rawHeaders: string[];
  /** Bytes up to and including the blank line. */
  length: number;
  /** The body's length (Content-Length), 0 for none. */
  contentLength: number;
}

/** node:http's default limit; a longer head goes to node:http, which answers 431. */
const MAX_HEAD = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
/** A Content-Length the fast path takes: digits only, short of 2^53. Anything else is node:http's to judge. */
const PLAIN_LENGTH = /^[0-9]{1,15}$/;

// Request line, then header lines: a token, a colon, then field-content bytes
// (HTAB, visible ASCII, obs-text). Obs-fold, bare CR or LF, NUL, spaces
// before the colon all fail to match.
const SIMPLE_HEAD = /^(?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) \/[!-~]* HTTP\/1\.1(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)*$/;

/** Strips spaces and tabs (only those: RFC 9110's OWS) from both ends. */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * The head at the start of `data` when it is complete and simple enough for
 * the fast path (no upgrade, no Expect, no Transfer-Encoding, at most one
 * Content-Length, a Host field), else null.
 */
export function parseSimpleRequestHead(data: Buffer): SimpleRequestHead | null {
  const end = data.indexOf(HEAD_END);
  if (end < 0 || end + 4 > MAX_HEAD) return null;
  const text = data.toString('latin1', 0, end);
  if (!SIMPLE_HEAD.test(text)) return null;
  const lines = text.split('\r\n');
  const requestLine = lines[0]!;
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.length - 9; // ' HTTP/1.1'
  const rawHeaders = new Array<string>((lines.length - 1) * 2);
  // node:http answers an HTTP/1.1 request without Host with its own 400 (RFC 9112 §3.2).
  let host = false;
  let contentLength = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = trimOws(line.slice(colon + 1));
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') host = true;
        break;
      case 6: // Expect: 100-continue needs an interim answer
        if (name.toLowerCase() === 'expect') return null;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') return null;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (contentLength !== -1 || !PLAIN_LENGTH.test(value)) return null;
          contentLength = Number(value);
          // "00" and the like: node:http's to judge, as before.
          if (contentLength === 0 && value !== '0') return null;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return null;
        break;
    }
    rawHeaders[(i - 1) * 2] = name;
    rawHeaders[(i - 1) * 2 + 1] = value;
  }
  if (!host) return null;
  return { method: requestLine.slice(0, sp1), url: requestLine.slice(sp1 + 1, sp2), rawHeaders, length: end + 4, contentLength: Math.max(contentLength, 0) };
}
