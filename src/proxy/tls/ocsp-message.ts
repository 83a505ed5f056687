// OCSP messages (RFC 6960) for stapling: the request for one certificate,
// and the checks its answer must pass before a handshake carries it.
import { createHash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { children, content, context, DerError, encode, expectTag, generalizedTime, oidText, readTlv, TAG, whole, type Tlv } from './der.js';

export type OcspErrorCode = 'OCSP_MALFORMED' | 'OCSP_UNSUCCESSFUL' | 'OCSP_NOT_FOR_CERTIFICATE' | 'OCSP_BAD_SIGNATURE' | 'OCSP_STALE';

export class OcspError extends Error {
  constructor(
    readonly code: OcspErrorCode | 'OCSP_HTTP' | 'OCSP_TIMEOUT',
    message: string,
  ) {
    super(message);
  }
}

const SHA1 = '1.3.14.3.2.26';
const BASIC_RESPONSE = '1.3.6.1.5.5.7.48.1.1';
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
/** Signature algorithms a responder may use, by OID: the digest crypto.verify takes (null: the key says, as for Ed25519). */
const SIGNATURE_DIGESTS: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};
/** A responder's clock may run this far ahead of ours. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** What identifies a certificate to its responder (RFC 6960 §4.1.1 CertID, SHA-1 as every responder accepts). */
export interface CertId {
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** The serial number INTEGER's content bytes. */
  serial: Buffer;
  /** The CertID as DER. */
  der: Buffer;
}

const sha1 = (data: Buffer): Buffer => createHash('sha1').update(data).digest();

/** The fields of a certificate's tbsCertificate: serial, issuer, subject, subjectPublicKeyInfo. */
function tbsFields(cert: Buffer): { serial: Tlv; issuer: Tlv; subject: Tlv; spki: Tlv } {
  const tbs = children(cert, expectTag(readTlv(cert, 0), TAG.SEQUENCE, 'Certificate'))[0];
  const fields = children(cert, expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate'));
  const v = fields[0]?.tag === context(0) ? 1 : 0; // the version is optional, [0] EXPLICIT
  return {
    serial: expectTag(fields[v], TAG.INTEGER, 'serialNumber'),
    issuer: expectTag(fields[v + 2], TAG.SEQUENCE, 'issuer'),
    subject: expectTag(fields[v + 4], TAG.SEQUENCE, 'subject'),
    spki: expectTag(fields[v + 5], TAG.SEQUENCE, 'subjectPublicKeyInfo'),
  };
}

/** The CertID of `leaf` (DER) issued by `issuer` (DER). */
export function certId(leaf: Buffer, issuer: Buffer): CertId {
  const l = tbsFields(leaf);
  const i = tbsFields(issuer);
  const key = expectTag(children(issuer, i.spki)[1], TAG.BIT_STRING, 'subjectPublicKey');
  const issuerNameHash = sha1(whole(issuer, i.subject));
  const issuerKeyHash = sha1(content(issuer, key).subarray(1)); // without the unused-bits byte
  const serial = content(leaf, l.serial);
  const algorithm = encode(TAG.SEQUENCE, Buffer.from([TAG.OID, 5, 0x2b, 0x0e, 0x03, 0x02, 0x1a]), Buffer.from([TAG.NULL, 0]));
  const der = encode(TAG.SEQUENCE, algorithm, encode(TAG.OCTET_STRING, issuerNameHash), encode(TAG.OCTET_STRING, issuerKeyHash), whole(leaf, l.serial));
  return { issuerNameHash, issuerKeyHash, serial, der };
}

/** An OCSPRequest for one certificate: unsigned, no nonce (a stapled answer is shared by every client). */
export function ocspRequest(id: CertId): Buffer {
  const request = encode(TAG.SEQUENCE, id.der);
  const tbsRequest = encode(TAG.SEQUENCE, encode(TAG.SEQUENCE, request));
  return encode(TAG.SEQUENCE, tbsRequest);
}

export type CertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  status: CertStatus;
  thisUpdate: number;
  /** Epoch ms; null when the responder gave none. */
  nextUpdate: number | null;
}

/**
 * Reads and checks an OCSPResponse for `id`: successful, a basic response
 * signed by the issuer or by a responder the issuer delegated to (its
 * certificate in the response, issued by the issuer, with the OCSPSigning
 * extended key usage), with a single response for this certificate that is
 * current at `now`. Throws an OcspError otherwise.
 */
export function readOcspResponse(der: Buffer, id: CertId, issuer: Buffer, now = Date.now()): OcspAnswer {
  try {
    return readChecked(der, id, issuer, now);
  } catch (err) {
    if (err instanceof DerError) throw new OcspError('OCSP_MALFORMED', `malformed OCSP response: ${err.message}`);
    throw err;
  }
}

function readChecked(der: Buffer, id: CertId, issuer: Buffer, now: number): OcspAnswer {
  const top = readTlv(der, 0);
  if (top.end !== der.length) throw new DerError('trailing bytes');
  const [statusTlv, bytesTlv] = children(der, expectTag(top, TAG.SEQUENCE, 'OCSPResponse'));
  const status = content(der, expectTag(statusTlv, TAG.ENUMERATED, 'responseStatus'));
  if (status.length !== 1 || status[0] !== 0) throw new OcspError('OCSP_UNSUCCESSFUL', `responseStatus ${status[0] ?? '?'} (not successful)`);
  const responseBytes = expectTag(children(der, expectTag(bytesTlv, context(0), 'responseBytes'))[0], TAG.SEQUENCE, 'ResponseBytes');
  const [typeTlv, octets] = children(der, responseBytes);
  if (oidText(content(der, expectTag(typeTlv, TAG.OID, 'responseType'))) !== BASIC_RESPONSE) throw new DerError('not a basic OCSP response');
  const basic = content(der, expectTag(octets, TAG.OCTET_STRING, 'response'));
  const [tbs, algorithm, signature, certs] = children(basic, expectTag(readTlv(basic, 0), TAG.SEQUENCE, 'BasicOCSPResponse'));
  checkSignature(basic, expectTag(tbs, TAG.SEQUENCE, 'tbsResponseData'), algorithm, signature, certs, issuer, now);
  const fields = children(basic, tbs!);
  const responses = fields.find((f) => f.tag === TAG.SEQUENCE);
  for (const single of children(basic, expectTag(responses, TAG.SEQUENCE, 'responses'))) {
    const answer = singleResponse(basic, single, id);
    if (answer === null) continue;
    if (answer.thisUpdate > now + CLOCK_SKEW_MS) throw new OcspError('OCSP_STALE', 'thisUpdate is in the future');
    if (answer.nextUpdate !== null && answer.nextUpdate <= now) throw new OcspError('OCSP_STALE', 'nextUpdate has passed');
    return answer;
  }
  throw new OcspError('OCSP_NOT_FOR_CERTIFICATE', 'the response has no answer for this certificate');
}

/** A SingleResponse's answer, or null when it is about another certificate. */
function singleResponse(buf: Buffer, single: Tlv, id: CertId): OcspAnswer | null {
  const [cid, certStatus, thisUpdate, ...rest] = children(buf, expectTag(single, TAG.SEQUENCE, 'SingleResponse'));
  const [alg, nameHash, keyHash, serial] = children(buf, expectTag(cid, TAG.SEQUENCE, 'CertID'));
  const algOid = oidText(content(buf, expectTag(children(buf, expectTag(alg, TAG.SEQUENCE, 'hashAlgorithm'))[0], TAG.OID, 'algorithm')));
  const same =
    algOid === SHA1 &&
    content(buf, expectTag(nameHash, TAG.OCTET_STRING, 'issuerNameHash')).equals(id.issuerNameHash) &&
    content(buf, expectTag(keyHash, TAG.OCTET_STRING, 'issuerKeyHash')).equals(id.issuerKeyHash) &&
    content(buf, expectTag(serial, TAG.INTEGER, 'serialNumber')).equals(id.serial);
  if (!same) return null;
  const status: CertStatus | undefined = ({ [context(0, false)]: 'good', [context(1)]: 'revoked', [context(2, false)]: 'unknown' } as Record<number, CertStatus>)[certStatus?.tag ?? -1];
  if (status === undefined) throw new DerError('bad certStatus');
  const next = rest.find((t) => t.tag === context(0));
  return {
    status,
    thisUpdate: generalizedTime(content(buf, expectTag(thisUpdate, TAG.GENERALIZED_TIME, 'thisUpdate'))),
    nextUpdate: next === undefined ? null : generalizedTime(content(buf, expectTag(children(buf, next)[0], TAG.GENERALIZED_TIME, 'nextUpdate'))),
  };
}

function checkSignature(basic: Buffer, tbs: Tlv, algorithm: Tlv | undefined, signature: Tlv | undefined, certs: Tlv | undefined, issuerDer: Buffer, now: number): void {
  const oid = oidText(content(basic, expectTag(children(basic, expectTag(algorithm, TAG.SEQUENCE, 'signatureAlgorithm'))[0], TAG.OID, 'algorithm')));
  const digest = SIGNATURE_DIGESTS[oid];
  if (digest === undefined) throw new OcspError('OCSP_BAD_SIGNATURE', `unsupported signature algorithm ${oid}`);
  const data = whole(basic, tbs);
  const sig = content(basic, expectTag(signature, TAG.BIT_STRING, 'signature')).subarray(1);
  const issuer = new X509Certificate(issuerDer);
  const signedBy = (key: KeyObject): boolean => {
    try {
      return verify(digest, data, key, sig);
    } catch {
      return false;
    }
  };
  if (signedBy(issuer.publicKey)) return;
  // A delegated responder: its certificate comes with the response.
  const list = certs?.tag === context(0) ? children(basic, certs)[0] : undefined;
  for (const c of list === undefined ? [] : children(basic, expectTag(list, TAG.SEQUENCE, 'certs'))) {
    let responder: X509Certificate;
    try {
      responder = new X509Certificate(whole(basic, c));
    } catch {
      continue;
    }
    const current = Date.parse(responder.validFrom) <= now && now < Date.parse(responder.validTo);
    const delegated = current && responder.checkIssued(issuer) && responder.verify(issuer.publicKey) && (responder.keyUsage ?? []).includes(OCSP_SIGNING);
    if (delegated && signedBy(responder.publicKey)) return;
  }
  throw new OcspError('OCSP_BAD_SIGNATURE', 'not signed by the issuer nor by a responder it delegated to');
}

/** The http:// OCSP responder a certificate names in its Authority Information Access, or null. */
export function ocspResponderUrl(cert: X509Certificate): string | null {
  for (const line of (cert.infoAccess ?? '').split('\n')) {
    const m = /^OCSP - URI:(\S+)$/.exec(line.trim());
    if (m !== null && m[1]!.startsWith('http://')) return m[1]!;
  }
  return null;
}
