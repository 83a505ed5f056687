// PROXY protocol headers (HAProxy's proxy-protocol.txt) as a load balancer
// sends them, for the tests of listeners with proxyProtocol.
import { isIPv4 } from 'node:net';

export interface ProxyV1Options {
  source: string;
  destination: string;
  sourcePort?: number;
  destinationPort?: number;
}

/** "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n". */
export function proxyV1(o: ProxyV1Options): Buffer {
  const family = isIPv4(o.source) ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${family} ${o.source} ${o.destination} ${o.sourcePort ?? 56324} ${o.destinationPort ?? 443}\r\n`, 'latin1');
}

export interface ProxyV2Options {
  command?: 'PROXY' | 'LOCAL';
  source?: string;
  destination?: string;
  /** Family and transport byte; derived from `source` (TCP over IPv4 or IPv6), 0x00 (UNSPEC) without one. */
  family?: number;
  /** The address block as it is; built from source and destination when absent. */
  addresses?: Buffer;
  /** Type-length-value records after the addresses. */
  tlvs?: [number, Buffer][];
}

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The binary header: signature, version 2 and command, family, length, addresses, TLVs. */
export function proxyV2(o: ProxyV2Options = {}): Buffer {
  const v4 = o.source !== undefined && isIPv4(o.source);
  const family = o.family ?? (o.source === undefined ? 0x00 : v4 ? 0x11 : 0x21);
  let addresses = o.addresses ?? Buffer.alloc(0);
  if (o.addresses === undefined && o.source !== undefined) {
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(56324, 0);
    ports.writeUInt16BE(443, 2);
    addresses = Buffer.concat([addressBytes(o.source), addressBytes(o.destination ?? (v4 ? '0.0.0.0' : '::')), ports]);
  }
  const tlvs = (o.tlvs ?? []).map(([type, value]) => {
    const head = Buffer.alloc(3);
    head.writeUInt8(type, 0);
    head.writeUInt16BE(value.length, 1);
    return Buffer.concat([head, value]);
  });
  const body = Buffer.concat([addresses, ...tlvs]);
  const fixed = Buffer.alloc(4);
  fixed.writeUInt8(o.command === 'LOCAL' ? 0x20 : 0x21, 0);
  fixed.writeUInt8(family, 1);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = groups(tail);
  const all = address.includes('::') ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  return Buffer.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}
