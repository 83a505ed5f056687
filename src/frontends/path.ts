// Path-prefix frontends (SPEC §9): a frontend key may be a host (or pattern)
// followed by a path prefix, "www.example.com/api". A host never contains
// "/", so the first "/" of a key starts its prefix. A prefix is canonical:
// it starts with "/", has no empty, "." or ".." segment, no trailing "/",
// no "?" or "#", and at most MAX_PREFIX_SEGMENTS segments. Matching is on
// segment boundaries, on the path as the client sent it (no decoding).

/**
 * The deepest prefix, in segments. It bounds what a request costs: at most
 * this many lookups per host level, whatever the length of its path (a path
 * of 4,000 segments must not cost 4,000 hashed lookups).
 */
export const MAX_PREFIX_SEGMENTS = 8;

/** Where a frontend key's prefix starts ("/api" in "www.x/api"), or -1 for a host's own frontend. */
export function prefixStart(key: string): number {
  return key.indexOf('/');
}

/** The host (or pattern) part of a frontend key. */
export function hostOfKey(key: string): string {
  const at = key.indexOf('/');
  return at === -1 ? key : key.slice(0, at);
}

/** The prefix part of a frontend key, "" for a host's own frontend. */
export function prefixOfKey(key: string): string {
  const at = key.indexOf('/');
  return at === -1 ? '' : key.slice(at);
}

/** Why `prefix` cannot be a path prefix, or null when it can. */
export function prefixProblem(prefix: string): string | null {
  if (!prefix.startsWith('/')) return 'a path prefix starts with "/"';
  if (prefix === '/') return '"/" is the host itself: give the host its own backends';
  if (prefix.endsWith('/')) return 'a path prefix does not end with "/" ("/api" matches "/api", "/api/" and "/api/...")';
  if (/[?#]/.test(prefix)) return 'a path prefix has no "?" or "#" (the query is not matched)';
  if (/[^\x21-\x7e]/.test(prefix)) return 'a path prefix is printable ASCII without spaces (percent-encode the rest, as clients send it)';
  const segments = prefix.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'a path prefix has no empty, "." or ".." segment';
  if (segments.length > MAX_PREFIX_SEGMENTS) return `a path prefix has at most ${MAX_PREFIX_SEGMENTS} segments`;
  return null;
}

/**
 * The ends of the prefixes a request path can match, shortest first, written
 * into `ends`; returns how many (at most MAX_PREFIX_SEGMENTS). For
 * "/api/v1/x?q": 4, 7, 9 ("/api", "/api/v1", "/api/v1/x"). The query is not
 * part of the path; "/" and "*" (OPTIONS *) have none.
 */
export function prefixEnds(path: string, ends: number[]): number {
  if (path.charCodeAt(0) !== 47 /* / */) return 0;
  let n = 0;
  let i = 1;
  for (; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) break;
    // A "/" ends a segment, unless it follows another (an empty segment is never in a prefix).
    if (c === 47 && path.charCodeAt(i - 1) !== 47) {
      ends[n++] = i;
      if (n === MAX_PREFIX_SEGMENTS) return n;
    }
  }
  // The end of the path (before its query) ends a segment too, unless the path ends with "/".
  if (i > 1 && path.charCodeAt(i - 1) !== 47) ends[n++] = i;
  return n;
}

/** The prefixes a request path can match, shortest first (the Redis adapter reads their keys). */
export function candidatePrefixes(path: string): string[] {
  const ends: number[] = [];
  const n = prefixEnds(path, ends);
  return ends.slice(0, n).map((end) => path.slice(0, end));
}

/** The path sent to the backend of a stripPrefix frontend: "/api/v1?x" without "/api" is "/v1?x"; "/api" is "/". */
export function stripPrefix(path: string, prefixLength: number): string {
  const rest = path.slice(prefixLength);
  return rest.charCodeAt(0) === 47 ? rest : '/' + rest;
}

/**
 * The name a frontend's dead marks are kept under for a requested host:
 * the host for a host's own frontend (Hipache's `dead:<host>`), the host and
 * prefix for a path frontend (`dead:<host>/<prefix>`), so that a backend
 * failing for /api is not skipped for the rest of the host.
 */
export function deadMarksName(host: string, frontendKey: string): string {
  const at = frontendKey.indexOf('/');
  return at === -1 ? host : host + frontendKey.slice(at);
}
