import type { SecureContext } from 'node:tls';
import { normalizeHost } from '../../frontends/host.js';
import type { CertificateInForce } from '../../routing/certificates.js';
import type { ProxyContext } from '../settings.js';
import type { SecureContextCache } from './contexts.js';

export type SniCallback = (servername: string, done: (err: Error | null, context?: SecureContext) => void) => void;

/**
 * Picks the certificate for a TLS handshake's SNI name from the table: the
 * exact name, then a wildcard covering it, else the listener's default
 * (SPEC §7). It waits on the same read-your-writes barrier as a request to
 * that host, so a handshake that starts after a `tls:` write returned gets
 * the new certificate.
 */
export function sniCallback(ctx: ProxyContext, contexts: SecureContextCache): SniCallback {
  return (servername, done) => {
    const name = normalizeHost(servername);
    if (name === null) return done(null);
    const pick = (): void => {
      const hit = checkedSelection(ctx, name);
      done(null, hit === null ? undefined : (contexts.for(hit.certificate) ?? undefined));
    };
    if (!ctx.whenCurrent(name, pick)) pick();
  };
}

/**
 * The table's certificate for `name`, checked: one held unchecked (a large
 * snapshot deferred its check) is checked by its source now, about a
 * millisecond, and the selection made again on what the table then holds
 * (the same certificate checked, or, if it failed, the next candidate).
 */
function checkedSelection(ctx: ProxyContext, name: string): CertificateInForce | null {
  // Bounded: the exact name's certificates, then the wildcard's; a source that checks nothing cannot loop it.
  for (let checks = 0; ; checks++) {
    const hit = ctx.table.certificates.select(name);
    if (hit === null || hit.certificate.checked) return hit;
    if (checks === 4) return null;
    ctx.checkCertificate(hit);
  }
}
