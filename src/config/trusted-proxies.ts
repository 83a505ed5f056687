// What an entry of server.trustedProxies means (SPEC §6): a word, an IP
// address or a CIDR, parsed into numeric ranges. The loader uses it to
// validate the config; the engine (src/proxy/trust.ts) to match peers.
//
// Every address is held as IPv6: an IPv4 address a.b.c.d is its mapped form
// ::ffff:a.b.c.d, and an IPv4 CIDR of prefix n is ::ffff:a.b.c.d/(96 + n).
// So an IPv4 client reached over a dual-stack socket (which Node reports as
// ::ffff:a.b.c.d) matches an IPv4 CIDR with no special case.

import { isIPv4, isIPv6 } from 'node:net';

/** The words server.trustedProxies accepts besides CIDRs ("private": RFC 1918, RFC 4193 and link-local). */
const KEYWORD_RANGES = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'],
  all: ['::/0'],
} as const satisfies Record<string, readonly string[]>;

export const TRUST_KEYWORDS = Object.keys(KEYWORD_RANGES) as (keyof typeof KEYWORD_RANGES)[];
export const DEFAULT_TRUSTED_PROXIES = ['loopback', 'private'];

/** An address as four 32-bit words, most significant first. */
export type AddressWords = [number, number, number, number];

export interface AddressRange {
  /** The network, its host bits cleared. */
  readonly network: AddressWords;
  readonly mask: AddressWords;
}

/**
 * The ranges one entry stands for, or null when it is none of a word, an
 * address, an address/prefix. Host bits set in a CIDR are ignored
 * ("10.1.2.3/8" is 10.0.0.0/8), as nginx and Rails do.
 */
export function parseTrustEntry(entry: string): AddressRange[] | null {
  const texts: readonly string[] = (KEYWORD_RANGES as Record<string, readonly string[]>)[entry] ?? [entry];
  const ranges: AddressRange[] = [];
  for (const text of texts) {
    const range = parseRange(text);
    if (range === null) return null;
    ranges.push(range);
  }
  return ranges;
}

export const TRUST_ENTRY_EXPECTED = `must be an IP address, a CIDR (address/prefix) or one of ${TRUST_KEYWORDS.map((k) => `"${k}"`).join(', ')}`;

function parseRange(text: string): AddressRange | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const words = parseAddress(address);
  if (words === null) return null;
  const width = isIPv4(address) ? 32 : 128;
  let prefix = width;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits) || Number(digits) > width) return null;
    prefix = Number(digits);
  }
  // An IPv4 prefix counts from the start of the mapped form (the 96 bits of ::ffff:).
  const mask = maskOf(prefix + 128 - width);
  return { network: words.map((w, i) => (w & mask[i]!) >>> 0) as AddressWords, mask };
}

function maskOf(prefix: number): AddressWords {
  const mask: AddressWords = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * i));
    mask[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  }
  return mask;
}

/** An IPv4 or IPv6 address (a zone index such as %eth0 ignored) as words; IPv4 in its mapped IPv6 form. */
export function parseAddress(text: string): AddressWords | null {
  if (isIPv4(text)) return [0, 0, 0xffff, ipv4Word(text)];
  const zone = text.indexOf('%');
  const address = zone < 0 ? text : text.slice(0, zone);
  if (!isIPv6(address)) return null;
  const groups = ipv6Groups(address);
  const words: AddressWords = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return words;
}

function ipv4Word(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** The eight 16-bit groups of a valid IPv6 address ("::" expanded, a dotted IPv4 tail as two groups). */
function ipv6Groups(address: string): number[] {
  const toGroups = (part: string): number[] => {
    const out: number[] = [];
    if (part === '') return out;
    for (const piece of part.split(':')) {
      if (!piece.includes('.')) {
        out.push(parseInt(piece, 16));
        continue;
      }
      const word = ipv4Word(piece);
      out.push(word >>> 16, word & 0xffff);
    }
    return out;
  };
  const gap = address.indexOf('::');
  if (gap < 0) return toGroups(address);
  const head = toGroups(address.slice(0, gap));
  const tail = toGroups(address.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
