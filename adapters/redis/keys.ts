// Hipache key names: `<prefix>frontend:<host>` (a list) and `<prefix>dead:<host>` (a set);
// and Switchyard's own `<prefix>switchyard:marker` (a string).

import { lookupKeys } from '../../src/frontends/host.js';

export type KeyRef = { kind: 'frontend'; host: string } | { kind: 'dead'; host: string };

export class KeySpace {
  constructor(readonly prefix: string) {}

  frontend(key: string): string {
    return `${this.prefix}frontend:${key}`;
  }

  dead(host: string): string {
    return `${this.prefix}dead:${host}`;
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
    return null;
  }

  /** SCAN MATCH / PSUBSCRIBE pattern for every key of a kind. */
  pattern(kind: KeyRef['kind']): string {
    return `${escapeGlob(this.prefix)}${kind}:*`;
  }

  /** Every frontend key that can serve `host`: exact, wildcards (most specific first), `*`. */
  candidates(host: string): string[] {
    return lookupKeys(host).map((key) => this.frontend(key));
  }
}

export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}
