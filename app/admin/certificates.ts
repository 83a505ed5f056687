// The certificates a worker serves, as the admin status shows them: who
// they are for and when they expire. The default certificate (https.cert)
// is read once when the worker starts; the others are the table's, from
// the sources (SPEC §7), listed soonest to expire first.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StaplingInfo } from '../../src/proxy/tls/ocsp-stapler.js';
import type { CertificateIndex } from '../../src/routing/certificates.js';

export interface CertificateInfo {
  /** Where it comes from: `config` for https.cert, else the source that gave it. */
  source: string;
  /** The file (https.cert), or where its source keeps it (a `tls:` key's name, a certDir file). */
  file: string;
  subject: string;
  /** The subjectAltName entries, `DNS:` dropped (`IP Address:127.0.0.1` kept as it is). */
  names: string[];
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Set when the file could not be read as a certificate; the other fields are then empty. */
  error: string | null;
  /** OCSP stapling for it; null until a handshake asked for its status (or without stapling). */
  ocsp?: StaplingInfo | null;
}

/** What stapling does for a certificate, by its SHA-256 fingerprint. */
export type StaplingLookup = (fingerprint: string) => StaplingInfo | null;

const DAY_MS = 86_400_000;

/** Certificates from the sources the status lists (the rest are counted). */
export const CERTIFICATES_LISTED = 100;

/** The leaf (first) certificate of a PEM chain file. */
export function describeCertificateFile(source: string, file: string, stapling: StaplingLookup | null = null): CertificateInfo {
  try {
    return describeLeaf(source, file, readFileSync(file), stapling);
  } catch (err) {
    return { source, file, subject: '', names: [], issuer: '', notBefore: '', notAfter: '', error: (err as Error).message };
  }
}

function describeLeaf(source: string, file: string, pem: string | Buffer, stapling: StaplingLookup | null): CertificateInfo {
  const cert = new X509Certificate(pem);
  const names = (cert.subjectAltName ?? '').split(', ').filter((n) => n !== '').map((n) => n.replace(/^DNS:/, ''));
  const date = (text: string) => new Date(text).toISOString();
  const info: CertificateInfo = { source, file, subject: cert.subject, names, issuer: cert.issuer, notBefore: date(cert.validFrom), notAfter: date(cert.validTo), error: null };
  if (stapling !== null) info.ocsp = stapling(cert.fingerprint256);
  return info;
}

/** The table's certificates expiring soonest (the ones an operator must look at), at most `limit`. */
export function describeTableCertificates(index: CertificateIndex, stapling: StaplingLookup | null = null, limit = CERTIFICATES_LISTED): CertificateInfo[] {
  // One whose check is still deferred has no known expiry yet (counted, not listed).
  const checked = [...index.all()].filter(({ certificate }) => certificate.checked);
  const soonest = checked.sort((a, b) => a.certificate.notAfter - b.certificate.notAfter).slice(0, limit);
  // Checked before it entered the table: it parses.
  return soonest.map(({ source, certificate }) => describeLeaf(source, certificate.key, certificate.pem, stapling));
}

/** Whole days until it expires (negative once expired); null when unknown. */
export function daysLeft(cert: CertificateInfo, now = Date.now()): number | null {
  if (cert.notAfter === '') return null;
  return Math.floor((Date.parse(cert.notAfter) - now) / DAY_MS);
}
