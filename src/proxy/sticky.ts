// Sticky sessions (SPEC §9): a vhost's `sticky: { cookie }` names the backend
// that answered in a cookie, and a request carrying it goes back there while
// that backend is listed and live. The name is derived from the backend URL
// alone (not its index, which shifts when the list changes), so every worker
// of every instance gives the same backend the same name, with nothing
// shared between them; hashed, so the cookie does not show the address.

import { createHash } from 'node:crypto';
import type { BackendTarget } from '../frontends/backend.js';

/** Characters of a sticky name: 96 bits of SHA-256, base64url. */
const NAME_LENGTH = 16;

const names = new WeakMap<BackendTarget, string>();

/**
 * The backend's sticky name: the first 96 bits of SHA-256 over the URL as
 * listed, base64url. Computed once per parsed backend. Opaque, not secret:
 * someone who guesses the URL (an address in a known private range) can
 * check the guess against it.
 */
export function stickyName(target: BackendTarget): string {
  let name = names.get(target);
  if (name === undefined) {
    name = createHash('sha256').update('switchyard sticky\0').update(target.url).digest('base64url').slice(0, NAME_LENGTH);
    names.set(target, name);
  }
  return name;
}

/** What a sticky name looks like; any other value (foreign, truncated, hostile) is ignored. */
const NAME = /^[A-Za-z0-9_-]{16}$/;

/**
 * The value of cookie `cookie` in the request's Cookie fields (every one,
 * in order: HTTP/1.1 clients should send one, some send several), or null.
 * Pairs are split at ";" with the spaces around them ignored (RFC 6265
 * §5.4 and lenient parsers alike); names are case-sensitive. The first
 * pair of that name with a well-formed value wins: a value that is not a
 * sticky name is ignored as if not sent.
 */
export function stickyCookie(rawHeaders: readonly string[], cookie: string): string | null {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!;
    if (field.length !== 6 || field.toLowerCase() !== 'cookie') continue;
    const found = valueIn(rawHeaders[i + 1]!, cookie);
    if (found !== null) return found;
  }
  return null;
}

/** The first well-formed sticky name given to `cookie` in one Cookie field's value; compared in place, only a match is copied. */
function valueIn(header: string, cookie: string): string | null {
  const length = header.length;
  for (let start = 0; start < length; ) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    const name = skipSpaces(header, start, end);
    if (header.startsWith(cookie, name)) {
      const eq = skipSpaces(header, name + cookie.length, end);
      if (eq < end && header.charCodeAt(eq) === 61 /* = */) {
        const from = skipSpaces(header, eq + 1, end);
        let to = end;
        while (to > from && isSpace(header.charCodeAt(to - 1))) to--;
        if (to - from === NAME_LENGTH) {
          const value = header.slice(from, to);
          if (NAME.test(value)) return value;
        }
      }
    }
    start = end + 1;
  }
  return null;
}

function skipSpaces(text: string, from: number, end: number): number {
  while (from < end && isSpace(text.charCodeAt(from))) from++;
  return from;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/** The Set-Cookie value naming `target`: for the whole site, out of scripts' reach, sent on top-level navigation. */
export function stickySetCookie(cookie: string, target: BackendTarget, secure: boolean): string {
  return `${cookie}=${stickyName(target)}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** How the answer's backend relates to the cookie sent, for X-Debug: named by it, chosen without one, or chosen over it. */
export function stickyDecision(wanted: string | null, target: BackendTarget): 'kept' | 'new' | 'replaced' {
  return wanted === null ? 'new' : wanted === stickyName(target) ? 'kept' : 'replaced';
}
