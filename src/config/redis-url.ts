// Hipache driver URLs: redis://[user][:password@]host[:port][/db][#keyprefix], and the
// "host:port" addresses of Redis Sentinel nodes.
// "redis:" alone (Hipache's default driver) means 127.0.0.1:6379, db 0.

import { isIPv6 } from 'node:net';
import { ConfigError } from './errors.js';
import type { RedisEndpoint } from './types.js';

export const DEFAULT_REDIS_HOST = '127.0.0.1';
export const DEFAULT_REDIS_PORT = 6379;
export const DEFAULT_SENTINEL_PORT = 26379;

export type RedisUrlResult = { ok: true; endpoint: RedisEndpoint } | { ok: false; reason: string };

/** Throws a ConfigError naming the (password-masked) URL when it is invalid. */
export function parseRedisUrl(url: string): RedisEndpoint {
  const result = checkRedisUrl(url);
  if (result.ok) return result.endpoint;
  throw new ConfigError([`Redis URL ${JSON.stringify(maskPassword(url))}: ${result.reason}`]);
}

/** The same without throwing, for callers that collect every problem. */
export function checkRedisUrl(url: string): RedisUrlResult {
  const fail = (reason: string): RedisUrlResult => ({ ok: false, reason });
  if (!/^redis:(\/\/|$)/.test(url)) return fail('must be a redis:// URL (or "redis:" for 127.0.0.1:6379)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('is not a valid URL (is the port within 1..65535? are special characters in the password percent-encoded?)');
  }
  if (parsed.search !== '') return fail('query parameters are not supported');
  const port = parsed.port === '' ? DEFAULT_REDIS_PORT : Number(parsed.port);
  if (port < 1 || port > 65535) return fail(`port ${port} is out of range 1..65535`);
  const db = parseDb(parsed.pathname);
  if (db === undefined) return fail(`database must be a number, got "${parsed.pathname}"`);
  const { username, password } = credentials(decode(parsed.username), decode(parsed.password));
  const endpoint: RedisEndpoint = {
    host: unbracket(parsed.hostname) || DEFAULT_REDIS_HOST,
    port,
    db,
    prefix: decode(parsed.hash.slice(1)),
    display: maskPassword(url),
  };
  if (password !== undefined) endpoint.password = password;
  if (username !== undefined) endpoint.username = username;
  return { ok: true, endpoint };
}

export type HostPortResult = { ok: true; host: string; port: number } | { ok: false; reason: string };

/** "host:port", "host" (default port), "[v6]:port" or a bare IPv6 literal. */
export function checkHostPort(text: string, defaultPort: number): HostPortResult {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(text);
  if (m === null) {
    // A bare IPv6 literal has colons of its own and no port.
    if (isIPv6(text)) return { ok: true, host: text, port: defaultPort };
    return { ok: false, reason: `must be "host:port" ("[v6-address]:port" for IPv6), got ${JSON.stringify(text)}` };
  }
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, reason: `port ${port} is out of range 1..65535` };
  return { ok: true, host: m[1] ?? m[2] ?? '', port };
}

/** An endpoint from the pre-0.4 redisHost / redisPort / ... keys. */
export function redisEndpoint(parts: { host?: string; port?: number; db?: number; password?: string }): RedisEndpoint {
  const host = parts.host || DEFAULT_REDIS_HOST;
  const port = parts.port ?? DEFAULT_REDIS_PORT;
  const db = parts.db ?? 0;
  const auth = parts.password ? ':***@' : '';
  const endpoint: RedisEndpoint = {
    host,
    port,
    db,
    prefix: '',
    display: `redis://${auth}${host.includes(':') ? `[${host}]` : host}:${port}/${db}`,
  };
  if (parts.password) endpoint.password = parts.password;
  return endpoint;
}

/** The URL as written, with the password (never the rest) replaced by "***". */
export function maskPassword(url: string): string {
  const m = /^([a-z]+:\/\/)([^/?#]*)@/i.exec(url);
  if (!m) return url;
  const [whole, scheme = '', userinfo = ''] = m;
  if (userinfo === '') return url;
  const colon = userinfo.indexOf(':');
  // Hipache read a lone userinfo ("redis://secret@host") as the password.
  const lone = colon === -1 || colon === userinfo.length - 1;
  const masked = lone ? '***' : `${userinfo.slice(0, colon)}:***`;
  return `${scheme}${masked}@${url.slice(whole.length)}`;
}

function credentials(user: string, pass: string): { username?: string; password?: string } {
  if (pass !== '') return user !== '' ? { username: user, password: pass } : { password: pass };
  // AUTH needs a password; Hipache took "redis://secret@host" to mean one.
  return user !== '' ? { password: user } : {};
}

function parseDb(pathname: string): number | undefined {
  if (pathname === '' || pathname === '/') return 0;
  const m = /^\/(\d{1,9})\/?$/.exec(pathname);
  return m ? Number(m[1]) : undefined;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
