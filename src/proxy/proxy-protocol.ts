// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
// that a load balancer sends before anything else on a connection, naming
// the client it accepted. Parsing only: src/proxy/client-identity.ts reads
// the header off the socket and decides what the connection is then.

import { isIPv4, isIPv6 } from 'node:net';

/** v1: "PROXY", a space, ... CRLF; at most 107 bytes with the CRLF (proxy-protocol.txt §2.1). */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107;
/** v2: this 12-byte signature, version/command, family/transport, a 16-bit length (§2.2). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;
/** The longest header there is: v2's fixed part and the largest length it can announce. */
export const PROXY_HEADER_MAX = V2_FIXED + 0xffff;

export type ProxyHeader =
  /** More bytes are needed to tell. */
  | { readonly state: 'incomplete' }
  /** Not a PROXY header: the connection must be closed. */
  | { readonly state: 'invalid'; readonly reason: string }
  | {
      readonly state: 'complete';
      /** Bytes the header takes; what follows is the client's. */
      readonly length: number;
      /** The client's address, or null for LOCAL, UNKNOWN and non-IP families (the peer stays the client). */
      readonly source: string | null;
    };

const INCOMPLETE: ProxyHeader = { state: 'incomplete' };
const invalid = (reason: string): ProxyHeader => ({ state: 'invalid', reason });

/** Reads a PROXY header (either version) from the start of `data`. */
export function readProxyHeader(data: Buffer): ProxyHeader {
  if (startsLike(data, V2_SIGNATURE)) return data.length < V2_FIXED ? INCOMPLETE : readV2(data);
  if (startsLike(data, V1_PREFIX)) return data.length < V1_PREFIX.length ? INCOMPLETE : readV1(data);
  return invalid('no PROXY header');
}

/** `data` and `prefix` agree on their common length. */
function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return data.compare(prefix, 0, n, 0, n) === 0;
}

function readV1(data: Buffer): ProxyHeader {
  const end = data.indexOf('\r\n', 0, 'latin1');
  if (end < 0 || end + 2 > V1_MAX) return data.length >= V1_MAX ? invalid('PROXY v1 line longer than 107 bytes') : INCOMPLETE;
  const fields = data.toString('latin1', V1_PREFIX.length, end).split(' ');
  const length = end + 2;
  if (fields[0] === 'UNKNOWN') return { state: 'complete', length, source: null };
  const [family, source, destination, sourcePort, destinationPort] = fields;
  const isAddress = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : null;
  if (isAddress === null) return invalid(`PROXY v1: unknown protocol ${JSON.stringify(family)}`);
  if (fields.length !== 5 || !isAddress(source!) || !isAddress(destination!) || !isPort(sourcePort!) || !isPort(destinationPort!)) {
    return invalid('PROXY v1: malformed addresses or ports');
  }
  return { state: 'complete', length, source: source! };
}

/** A port in decimal, without a leading zero (proxy-protocol.txt §2.1). */
function isPort(text: string): boolean {
  return /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) <= 65535;
}

function readV2(data: Buffer): ProxyHeader {
  const versionCommand = data[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`PROXY v2: unknown version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`PROXY v2: unknown command ${command}`);
  const length = V2_FIXED + data.readUInt16BE(14);
  if (data.length < length) return INCOMPLETE;
  // LOCAL: the balancer's own connection (a health check); the addresses, if any, are to be ignored.
  if (command === 0) return { state: 'complete', length, source: null };
  const family = data[13]! >> 4;
  const addresses = length - V2_FIXED;
  if (family === 1) {
    if (addresses < 12) return invalid('PROXY v2: IPv4 address block too short');
    return { state: 'complete', length, source: `${data[16]}.${data[17]}.${data[18]}.${data[19]}` };
  }
  if (family === 2) {
    if (addresses < 36) return invalid('PROXY v2: IPv6 address block too short');
    return { state: 'complete', length, source: formatIPv6(data.subarray(16, 32)) };
  }
  if (family === 0 || family === 3) return { state: 'complete', length, source: null }; // UNSPEC, UNIX: no IP to give
  return invalid(`PROXY v2: unknown address family ${family}`);
}

/** 16 bytes as RFC 5952 text (the longest run of zero groups as "::"); an IPv4-mapped address as dotted IPv4. */
export function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  let bestAt = -1, bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestAt, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLength).join(':')}`;
}
