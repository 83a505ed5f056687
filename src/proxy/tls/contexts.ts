import tls, { type SecureContext } from 'node:tls';
import type { CertificateSpec } from '../../vocabulary/events.js';
import { logger } from '../../log.js';
import type { TlsProfile } from './profile.js';

const log = logger('tls');

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

/** Secure contexts kept at once (SPEC §7: built on demand, not all held). */
export const DEFAULT_CONTEXT_CACHE = 1000;

/**
 * The secure contexts of the certificates that handshakes asked for
 * lately, built from their PEM on first use and dropped least recently
 * used first: with 100,000 certificates in the table, a worker holds the
 * few thousand contexts its clients use, not 100,000 (each holds its parsed
 * key and chain in OpenSSL).
 */
export class SecureContextCache {
  readonly #contexts = new Map<CertificateSpec, SecureContext>();
  /** Contexts built (a handshake that found none cached). */
  built = 0;

  constructor(
    private readonly profile: TlsProfile,
    private readonly capacity = DEFAULT_CONTEXT_CACHE,
    /** Shared by every context of the instance, so that a ticket issued by one worker resumes on another. */
    private ticketKeys: Buffer | null = null,
  ) {}

  /** The instance's ticket key was rotated: cached contexts hold the old one, so they go and are rebuilt on demand with the new. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.#contexts.clear();
  }

  get size(): number {
    return this.#contexts.size;
  }

  /** The context for a certificate in the table, or null when OpenSSL refuses it (logged; the default serves). */
  for(certificate: CertificateSpec): SecureContext | null {
    const cached = this.#contexts.get(certificate);
    if (cached !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.#contexts.delete(certificate);
      this.#contexts.set(certificate, cached);
      return cached;
    }
    let context: SecureContext;
    try {
      context = this.#build(certificate.pem);
    } catch (err) {
      log.error('certificate refused by OpenSSL; the default certificate is served instead', { key: certificate.key, error: (err as Error).message });
      return null;
    }
    this.built++;
    this.#contexts.set(certificate, context);
    if (this.#contexts.size > this.capacity) this.#contexts.delete(this.#contexts.keys().next().value!);
    return context;
  }

  #build(pem: string): SecureContext {
    const chain = (pem.match(CERTIFICATE_BLOCK) ?? []).join('\n');
    const key = pem.match(KEY_BLOCK)?.[0] ?? '';
    return tls.createSecureContext({ cert: chain, key, ...this.profile, ...(this.ticketKeys !== null ? { ticketKeys: this.ticketKeys } : {}) });
  }
}
