// Backend URLs come from users (redis-cli, YAML) as strings. They are parsed
// once and cached, so a request never parses a URL.

export interface BackendTarget {
  url: string;
  /** `http://host:port`: the connection pool key. */
  origin: string;
  hostname: string;
  port: number;
  secure: boolean;
  /** A path in the backend URL is prepended to the request path (as Hipache's http-proxy did). */
  pathPrefix: string;
}

const cache = new Map<string, BackendTarget | null>();
const CACHE_LIMIT = 100_000;

/** The parsed backend, or null when the string is not an http(s) URL with a host. */
export function parseBackend(url: string): BackendTarget | null {
  let target = cache.get(url);
  if (target !== undefined) return target;
  target = parseUncached(url);
  if (cache.size >= CACHE_LIMIT) cache.clear(); // URLs churn in a PaaS; re-parsing is cheap
  cache.set(url, target);
  return target;
}

function parseUncached(url: string): BackendTarget | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') return null;
  if (parsed.username !== '' || parsed.password !== '' || parsed.hash !== '' || parsed.search !== '') return null;
  const secure = parsed.protocol === 'https:';
  const port = parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port);
  const pathPrefix = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
  return { url, origin: `${parsed.protocol}//${parsed.host}`, hostname: parsed.hostname, port, secure, pathPrefix };
}
