// Hipache key names: `<prefix>frontend:<host>` (a list) and `<prefix>dead:<host>` (a set);
// for a path frontend (SPEC §9) `<prefix>frontend:<host>/<path>` and `<prefix>dead:<host>/<path>`;
// `<prefix>tls:<host-or-pattern>` (a string: a certificate chain and its key, SPEC §7);
// `<prefix>options:<frontend>` (a hash: per-vhost options, SPEC §9, for any key a frontend: has);
// and Switchyard's own `<prefix>switchyard:marker` (a string).

import { lookupKeys } from '../../src/frontends/host.js';
import { candidatePrefixes } from '../../src/frontends/path.js';

export type KeyKind = 'frontend' | 'dead' | 'tls' | 'options';

/** Every kind, as the change feed subscribes to them. */
export const KEY_KINDS: readonly KeyKind[] = ['frontend', 'dead', 'tls', 'options'];

/** A key of this source: its kind, and the host, pattern or name after the kind's prefix. */
export type KeyRef = { kind: KeyKind; host: string };

export class KeySpace {
  constructor(readonly prefix: string) {}

  frontend(key: string): string {
    return `${this.prefix}frontend:${key}`;
  }

  dead(host: string): string {
    return `${this.prefix}dead:${host}`;
  }

  /** The key of the certificate stored for `name`: an exact host or "*.example.com". */
  tls(name: string): string {
    return `${this.prefix}tls:${name}`;
  }

  /** The per-vhost options of the frontend `key` (a host, pattern or path frontend). */
  options(key: string): string {
    return `${this.prefix}options:${key}`;
  }

  /** The key the feed connection WATCHes to notice a database replaced as a whole (tripwire.ts). */
  marker(): string {
    return `${this.prefix}switchyard:marker`;
  }

  parse(redisKey: string): KeyRef | null {
    if (!redisKey.startsWith(this.prefix)) return null;
    const rest = redisKey.slice(this.prefix.length);
    if (rest.startsWith('frontend:')) return { kind: 'frontend', host: rest.slice(9) };
    if (rest.startsWith('dead:')) return { kind: 'dead', host: rest.slice(5) };
    if (rest.startsWith('tls:')) return { kind: 'tls', host: rest.slice(4) };
    if (rest.startsWith('options:')) return { kind: 'options', host: rest.slice(8) };
    return null;
  }

  /** SCAN MATCH / PSUBSCRIBE pattern for every key of a kind. */
  pattern(kind: KeyKind): string {
    return `${escapeGlob(this.prefix)}${kind}:*`;
  }

  /**
   * Every frontend key that can serve `host`: exact, wildcards (most specific
   * first), `*`; with a request's `path`, then under each of them the path
   * frontends it can match (at most MAX_PREFIX_SEGMENTS prefixes each).
   */
  candidates(host: string, path = ''): string[] {
    return frontendNames(host, path).map((key) => this.frontend(key));
  }

  /** The options keys of those frontends (a path frontend's options include its host level's). */
  optionCandidates(host: string, path = ''): string[] {
    return frontendNames(host, path).map((key) => this.options(key));
  }

  /** Every certificate key that can serve `host` (an SNI name): exact, then the wildcard of one label. */
  certificates(host: string): string[] {
    return certificateNames(host).map((name) => this.tls(name));
  }
}

/** The frontend keys (after `frontend:`) that can serve `host` and `path`: see KeySpace.candidates. */
export function frontendNames(host: string, path = ''): string[] {
  const hosts = lookupKeys(host);
  const keys = [...hosts];
  for (const prefix of candidatePrefixes(path)) for (const key of hosts) keys.push(key + prefix);
  return keys;
}

/** The names of the dead sets a request for `host` and `path` can use: the host's, and one per prefix the path can match. */
export function deadNames(host: string, path = ''): string[] {
  return [host, ...candidatePrefixes(path).map((prefix) => host + prefix)];
}

/** The names a certificate for `host` can be stored under: the host, and `*.<parent>` (a wildcard covers one label). */
export function certificateNames(host: string): string[] {
  const dot = host.indexOf('.');
  return dot > 0 && dot < host.length - 1 ? [host, `*${host.slice(dot)}`] : [host];
}

export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}
