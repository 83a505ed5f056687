import { constants } from 'node:crypto';
import tls from 'node:tls';
import type { HttpsListenConfig } from '../../config/types.js';

/**
 * Mozilla's "intermediate" server profile (ssl-config.mozilla.org, guidelines
 * 5.7), DHE left out: TLS 1.3's suites, then ECDHE key exchange with AEAD
 * ciphers only for TLS 1.2. Node's own default still offers CBC suites.
 */
export const INTERMEDIATE_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const INTERMEDIATE_CURVES = 'X25519:prime256v1:secp384r1';

/** What every secure context of a listener shares: versions, ciphers, curves, no renegotiation, the session context. */
export interface TlsProfile {
  minVersion: tls.SecureVersion;
  ciphers: string;
  ecdhCurve: string;
  /** The profile's suites are all strong: the client picks (Mozilla's intermediate advice). */
  honorCipherOrder: false;
  secureOptions: number;
  /**
   * OpenSSL resumes a session only in the context it was issued in. Node's
   * default names it after the command line, which differs between
   * instances (their config paths): one name for all, so that a ticket
   * issued by one instance resumes on another holding the same ticket key.
   */
  sessionIdContext: string;
}

export const SESSION_ID_CONTEXT = 'switchyard';

export function tlsProfile(https: Pick<HttpsListenConfig, 'ciphers' | 'minVersion'>): TlsProfile {
  // A client-initiated renegotiation costs the server a full handshake for a few bytes of the
  // client's: refused outright (OpenSSL answers no_renegotiation), not merely rate-limited.
  const noRenegotiation = (constants as { SSL_OP_NO_RENEGOTIATION?: number }).SSL_OP_NO_RENEGOTIATION ?? 0;
  return { minVersion: https.minVersion, ciphers: https.ciphers ?? INTERMEDIATE_CIPHERS, ecdhCurve: INTERMEDIATE_CURVES, honorCipherOrder: false, secureOptions: noRenegotiation, sessionIdContext: SESSION_ID_CONTEXT };
}
