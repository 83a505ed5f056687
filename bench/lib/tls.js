// TLS for the tls / tls-new / tls-resumed / h2 scenarios: a self-signed
// certificate for bench.local made at run time in the work dir (EC P-256 by
// default, RSA 2048 with --tls-key rsa), shared by Switchyard, the nginx
// reference and the bare Node floor (tools/tls-floor.js).

import { join } from 'node:path';
import { run } from './procs.js';

/** Writes tls-<kind>.{key,cert}.pem into `work`; resolves { cert, key, kind }. */
export async function makeCert(work, kind = 'ec') {
  const key = join(work, `tls-${kind}.key.pem`);
  const cert = join(work, `tls-${kind}.cert.pem`);
  const keyArgs = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const r = await run('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=bench.local', '-addext', 'subjectAltName=DNS:bench.local'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`openssl req failed: ${(r.stderr || r.stdout).slice(0, 300)}`);
  return { cert, key, kind };
}

