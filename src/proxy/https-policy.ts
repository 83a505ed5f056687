// Per-vhost HTTPS policy (SPEC §7): `redirectHttps` sends plain-HTTP requests
// to the same URL over HTTPS, `hsts` tells browsers over HTTPS to use nothing
// else. Plain functions of the route and the connection, decided per request
// with no I/O.

import { isIPv6 } from 'node:net';
import type { Route } from '../routing/table.js';

const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/**
 * An HTTP-01 token is base64url (RFC 8555 §8.3), and the validation request
 * carries nothing else. Anything more (a dot segment, an escaped slash, a
 * query) is not a challenge: let through, `/.well-known/acme-challenge/../x`
 * would take a link to any page of the vhost over plain HTTP.
 */
const ACME_TOKEN = /^[A-Za-z0-9_-]+$/;

/** A plain-HTTP request for `route` that gets a redirect instead of a backend. */
export function redirectsToHttps(route: Route, secure: boolean, path: string): boolean {
  return !secure && route.options?.redirectHttps === true && !isAcmeChallenge(path);
}

/** An ACME HTTP-01 validation request (it must stay on plain HTTP: the certificate it is for may not exist yet). */
export function isAcmeChallenge(path: string): boolean {
  return path.startsWith(ACME_CHALLENGE) && ACME_TOKEN.test(path.slice(ACME_CHALLENGE.length));
}

/**
 * Where a redirected request goes: the host as routed (normalised: lower
 * case, no port, no trailing dot), the HTTPS listener's port unless 443, the
 * path and query as sent. Null when the host is not a name or an IP literal
 * (a pattern such as `*.example.com`, an empty label): the table may route
 * those, but they are nowhere to send a browser. The path always starts the
 * URL's path, so nothing in it can change the authority, and bytes a header
 * cannot carry as they are are percent-encoded.
 */
export function httpsLocation(host: string, path: string, httpsPort: number): string | null {
  if (!isRedirectableHost(host)) return null;
  const authority = httpsPort === 443 ? host : `${host}:${httpsPort}`;
  return `https://${authority}${locationPath(path)}`;
}

/** Labels of letters, digits, `_` and `-` (the vhosts keys' alphabet), or a bracketed IPv6 literal. */
const LABELS = /^[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*$/;

function isRedirectableHost(host: string): boolean {
  if (host.charCodeAt(0) === 91 /* [ */) return host.endsWith(']') && isIPv6(host.slice(1, -1));
  return host.length <= 253 && LABELS.test(host);
}

/** Outside printable ASCII: control characters, space, DEL, and whatever a parser let through beyond. */
const UNSAFE = /[^\x21-\x7e]/;

function locationPath(path: string): string {
  if (path.charCodeAt(0) !== 47 /* / */) return '/'; // `OPTIONS *`: the server itself
  if (!UNSAFE.test(path)) return path;
  let out = '';
  for (const char of path) out += UNSAFE.test(char) ? percentEncode(char) : char;
  return out;
}

/** A request line is read as latin1, one byte a character; anything wider is sent as its UTF-8 bytes. */
function percentEncode(char: string): string {
  const code = char.codePointAt(0)!;
  const bytes = code <= 0xff ? [code] : Buffer.from(char, 'utf8');
  let out = '';
  for (const byte of bytes) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/**
 * What answers of `route` say in Strict-Transport-Security. null: the vhost
 * sets no `hsts`, the backend's header is relayed as it is. Otherwise the
 * operator's setting wins over the backend's: `max-age=<n>` over HTTPS, and
 * '' (none at all) over plain HTTP, where it must not be sent (RFC 6797 §7.2).
 */
export function stsValue(route: Route, secure: boolean): string | null {
  const maxAge = route.options?.hsts;
  if (maxAge === undefined) return null;
  return secure ? `max-age=${maxAge}` : '';
}
