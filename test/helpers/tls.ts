import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { CleanupScope } from './cleanup.js';
import { tempDir } from './tmp.js';

export interface SelfSigned {
  key: string;
  cert: string;
  dir: string;
}

/**
 * A fresh self-signed RSA key and certificate for CN=localhost, made by
 * openssl; `altNames` adds a subjectAltName (e.g. ['IP:127.0.0.1']).
 */
export function selfSignedCert(scope?: CleanupScope, altNames: string[] = []): SelfSigned {
  const dir = tempDir('tls', scope);
  const key = path.join(dir, 'k.pem');
  const cert = path.join(dir, 'c.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert,
      ...(altNames.length > 0 ? ['-addext', `subjectAltName=${altNames.join(',')}`] : []),
    ],
    { stdio: 'pipe' },
  );
  return { key, cert, dir };
}
