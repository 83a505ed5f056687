// The trust decision of SPEC §6 (server.trustedProxies), made once per
// connection: the entries are compiled into numeric ranges when a worker
// starts, so a check is one address parse and a few integer comparisons.

import { parseAddress, parseTrustEntry, type AddressRange } from '../config/trusted-proxies.js';

export class TrustedProxies {
  private constructor(private readonly ranges: readonly AddressRange[]) {}

  /** Compiles the entries of server.trustedProxies (the config loader validated them). */
  static compile(entries: readonly string[]): TrustedProxies {
    const ranges: AddressRange[] = [];
    for (const entry of entries) {
      const parsed = parseTrustEntry(entry);
      if (parsed === null) throw new Error(`server.trustedProxies: not an address, a CIDR nor a known word: ${JSON.stringify(entry)}`);
      ranges.push(...parsed);
    }
    return new TrustedProxies(ranges);
  }

  /** The address (a peer as Node reports it, or a PROXY header's source) is in a trusted range. */
  has(address: string | undefined): boolean {
    if (this.ranges.length === 0 || address === undefined) return false;
    const words = parseAddress(address);
    if (words === null) return false;
    for (const { network, mask } of this.ranges) {
      if (
        ((words[0] & mask[0]) >>> 0) === network[0] &&
        ((words[1] & mask[1]) >>> 0) === network[1] &&
        ((words[2] & mask[2]) >>> 0) === network[2] &&
        ((words[3] & mask[3]) >>> 0) === network[3]
      ) {
        return true;
      }
    }
    return false;
  }
}
