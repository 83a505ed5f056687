// Just enough DER (X.690) to build an OCSP request and read its answer:
// Node parses certificates but has no ASN.1 API, and no OCSP client.

/** One DER element: its tag byte, and where its content lies in `buf`. */
export interface Tlv {
  tag: number;
  /** The first byte of the element (its tag). */
  start: number;
  /** The first byte of its content. */
  body: number;
  /** One past its last byte. */
  end: number;
}

export class DerError extends Error {
  readonly code = 'DER_MALFORMED';
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  SEQUENCE: 0x30,
  GENERALIZED_TIME: 0x18,
} as const;

/** A context-specific tag: [n] constructed (EXPLICIT, or IMPLICIT over a constructed type), or primitive. */
export const context = (n: number, constructed = true): number => (constructed ? 0xa0 : 0x80) | n;

/** The element starting at `at`; it must end within `limit`. Only the single-byte tags DER in OCSP uses. */
export function readTlv(buf: Buffer, at: number, limit = buf.length): Tlv {
  if (at + 2 > limit) throw new DerError('truncated element');
  const tag = buf[at]!;
  let length = buf[at + 1]!;
  let body = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || body + bytes > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[body + i]!;
    body += bytes;
  }
  const end = body + length;
  if (end > limit) throw new DerError('element longer than its container');
  return { tag, start: at, body, end };
}

/** The elements inside a constructed element, in order. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const child = readTlv(buf, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** The element's content bytes. */
export const content = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.body, tlv.end);

/** The whole element, tag and length included. */
export const whole = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.start, tlv.end);

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined || tlv.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

/** An element with `tag` around `parts`. */
export function encode(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else if (n < 0x100) header = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) header = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else header = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([header, body]);
}

/** An OBJECT IDENTIFIER's content in dotted form. */
export function oidText(bytes: Buffer): string {
  if (bytes.length === 0) throw new DerError('empty OID');
  const parts = [Math.min(2, Math.floor(bytes[0]! / 40)), bytes[0]! - 40 * Math.min(2, Math.floor(bytes[0]! / 40))];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** A GeneralizedTime's content (YYYYMMDDHHMMSS[.fff]Z, as RFC 5280 requires) as epoch ms. */
export function generalizedTime(bytes: Buffer): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(bytes.toString('latin1'));
  if (m === null) throw new DerError('bad GeneralizedTime');
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}
