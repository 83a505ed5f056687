// Checking a certificate before it is served (SPEC §7): every source runs
// its certificates through checkCertificate and emits only those that pass,
// so that a bad one (unparsable, a key that does not match, expired, not
// covering the name it is stored under) never replaces a good one.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { CertificateSpec } from '../vocabulary/events.js';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;

export type CertificateCheck = { ok: true; certificate: CertificateSpec } | { ok: false; reason: string };

/** Where a source keeps a certificate: `name` is the name it is stored under, null when its SANs say (certDir). */
export interface StoredAt {
  key: string;
  name: string | null;
}

/** The DNS names a certificate's subjectAltName lists, lowercase. */
export function dnsNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice(4).toLowerCase());
  }
  return names;
}

/** A certificate naming `names` is valid for `name` (RFC 6125 §6.4: a wildcard stands for one whole label). */
export function covers(names: readonly string[], name: string): boolean {
  const wanted = name.toLowerCase();
  if (names.includes(wanted)) return true;
  if (wanted.startsWith('*.')) return false; // a wildcard name needs the wildcard itself
  const dot = wanted.indexOf('.');
  return dot > 0 && names.includes(`*${wanted.slice(dot)}`);
}

/**
 * A certificate held as read, its check deferred (CertificateSpec.checked):
 * served only once checkCertificate passed on it.
 */
export function uncheckedCertificate(pem: string, at: { key: string; name: string }): CertificateSpec {
  return { key: at.key, names: [at.name.toLowerCase()], pem, checked: false, notAfter: Number.POSITIVE_INFINITY, fingerprint: '' };
}

/**
 * Checks a PEM text holding a certificate chain (leaf first) and its
 * private key. `now` decides what is expired.
 */
export function checkCertificate(pem: string, at: StoredAt, now = Date.now()): CertificateCheck {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  const keys = [...pem.matchAll(KEY_BLOCK)];
  if (blocks.length === 0) return { ok: false, reason: 'no certificate (no BEGIN CERTIFICATE block)' };
  if (keys.length === 0) return { ok: false, reason: 'no private key (no BEGIN PRIVATE KEY block)' };
  if (keys.length > 1) return { ok: false, reason: 'more than one private key' };
  if (keys[0]![1] === 'ENCRYPTED PRIVATE KEY') return { ok: false, reason: 'the private key is encrypted' };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
    for (let i = 1; i < blocks.length; i++) new X509Certificate(blocks[i]!);
  } catch (err) {
    return { ok: false, reason: `unparsable certificate: ${(err as Error).message}` };
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keys[0]![0]));
  } catch (err) {
    return { ok: false, reason: `unparsable private key: ${(err as Error).message}` };
  }
  if (!matches) return { ok: false, reason: 'the private key does not match the certificate' };
  const notAfter = Date.parse(leaf.validTo);
  const notBefore = Date.parse(leaf.validFrom);
  if (notAfter <= now) return { ok: false, reason: `expired on ${new Date(notAfter).toISOString()}` };
  if (notBefore > now) return { ok: false, reason: `not valid before ${new Date(notBefore).toISOString()}` };
  const sans = dnsNames(leaf);
  if (at.name !== null && !covers(sans, at.name)) {
    return { ok: false, reason: `does not cover ${at.name} (it names ${sans.length > 0 ? sans.join(', ') : 'no DNS name'})` };
  }
  if (at.name === null && sans.length === 0) return { ok: false, reason: 'names no DNS name (no subjectAltName DNS entry)' };
  const names = at.name !== null ? [at.name.toLowerCase()] : sans;
  return { ok: true, certificate: { key: at.key, names, pem, checked: true, notAfter, fingerprint: leaf.fingerprint256 } };
}
