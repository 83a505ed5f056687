#!/usr/bin/env node
// What a worker pays per certificate it reads from a source today (SPEC §7):
// the check every source runs before it emits one (src/tls/certificate.ts),
// timed over --n checks of one certificate made here by openssl, and the
// PEM's size (what the worker's table holds per certificate). Multiplied out
// for 100,000 certificates, the figure the README quotes.
//
// Usage: node bench/tools/certificate-check.js [--key rsa|ec] [--n 500]   (needs dist/: npm run build)

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { checkCertificate } from '../../dist/src/tls/certificate.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const kind = arg('key', 'rsa');
const n = Number(arg('n', '500'));

const dir = mkdtempSync(join(os.tmpdir(), 'switchyard-cert-check-'));
try {
  const key = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  execFileSync('openssl', ['req', '-x509', ...key, '-nodes', '-subj', '/CN=check.test', '-days', '30', '-keyout', 'k.pem', '-out', 'c.pem', '-addext', 'subjectAltName=DNS:check.test'], { cwd: dir, stdio: 'pipe' });
  const pem = readFileSync(join(dir, 'c.pem'), 'utf8') + readFileSync(join(dir, 'k.pem'), 'utf8');
  for (let i = 0; i < 20; i++) checkCertificate(pem, { key: 'check.test', name: 'check.test' }); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!checkCertificate(pem, { key: 'check.test', name: 'check.test' }).ok) throw new Error('the check refused a good certificate');
  const perCheckMs = Number(process.hrtime.bigint() - started) / 1e6 / n;
  console.log(`${kind}: ${perCheckMs.toFixed(3)} ms per check (${n} checks), PEM ${pem.length} bytes`);
  console.log(`100,000 certificates: ${(perCheckMs * 100).toFixed(0)} s of checks and ${((pem.length * 100_000) / 1048576).toFixed(0)} MiB of PEM text per worker`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
