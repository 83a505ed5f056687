// The certificates a worker serves, as the admin status shows them: who
// they are for and when they expire. Read once when the worker starts (what
// it loaded then is what it serves until it is replaced).

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface CertificateInfo {
  /** Where it comes from: `config` for https.cert. */
  source: string;
  file: string;
  subject: string;
  /** The subjectAltName entries, `DNS:` dropped (`IP Address:127.0.0.1` kept as it is). */
  names: string[];
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Set when the file could not be read as a certificate; the other fields are then empty. */
  error: string | null;
}

const DAY_MS = 86_400_000;

/** The leaf (first) certificate of a PEM chain file. */
export function describeCertificateFile(source: string, file: string): CertificateInfo {
  try {
    const cert = new X509Certificate(readFileSync(file));
    const names = (cert.subjectAltName ?? '').split(', ').filter((n) => n !== '').map((n) => n.replace(/^DNS:/, ''));
    const date = (text: string) => new Date(text).toISOString();
    return { source, file, subject: cert.subject, names, issuer: cert.issuer, notBefore: date(cert.validFrom), notAfter: date(cert.validTo), error: null };
  } catch (err) {
    return { source, file, subject: '', names: [], issuer: '', notBefore: '', notAfter: '', error: (err as Error).message };
  }
}

/** Whole days until it expires (negative once expired); null when unknown. */
export function daysLeft(cert: CertificateInfo, now = Date.now()): number | null {
  if (cert.notAfter === '') return null;
  return Math.floor((Date.parse(cert.notAfter) - now) / DAY_MS);
}
