// Certificates for the TLS tests, made by openssl: a test CA (so that
// clients verify what they are served, not merely accept it) and leaves
// for any DNS names, with any validity window (an expired one included,
// which `openssl req -days` cannot make: `openssl ca` takes dates).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './tmp.js';

export interface TestCa {
  /** PEM of the CA certificate: give it to clients as `ca`. */
  cert: string;
  dir: string;
}

export interface TestCertificate {
  /** The leaf then the CA (the chain a server sends). */
  chain: string;
  key: string;
  /** chain + key: what a `tls:` key or a certDir file holds. */
  pem: string;
  /** The leaf's SHA-256 fingerprint as node:crypto prints it (X509Certificate.fingerprint256). */
  fingerprint: string;
  /** The leaf's file in the CA's directory (for `openssl ca -revoke`). */
  file: string;
}

export interface LeafOptions {
  /** DNS names for the subjectAltName ("*.example.test" for a wildcard); none: no SAN at all. */
  names: string[];
  /** openssl dates, YYYYMMDDHHMMSSZ; default: an hour ago to 30 days from now. */
  notBefore?: string;
  notAfter?: string;
  /** "ec" (P-256, fast) or "rsa" (2048). */
  keyType?: 'ec' | 'rsa';
  /** More X.509v3 extensions, as `openssl req -addext` takes them (e.g. `authorityInfoAccess=OCSP;URI:http://127.0.0.1:8888`). */
  extensions?: string[];
}

const CA_CONFIG = `[ ca ]
default_ca = test_ca
[ test_ca ]
database = ./index.txt
new_certs_dir = .
serial = ./serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[ any_name ]
commonName = supplied
`;

function keyArgs(type: 'ec' | 'rsa'): string[] {
  return type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
}

/** openssl's date format for `ms` epoch milliseconds. */
export function opensslDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

let serial = 1;

export function makeCa(): TestCa {
  const dir = tempDir('test-ca');
  execFileSync('openssl', ['req', '-x509', ...keyArgs('ec'), '-nodes', '-subj', '/CN=Switchyard Test CA', '-days', '30', '-keyout', 'ca.key', '-out', 'ca.pem'], { cwd: dir, stdio: 'pipe' });
  writeFileSync(path.join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '01\n');
  return { cert: readFileSync(path.join(dir, 'ca.pem'), 'utf8'), dir };
}

/** A leaf signed by `ca` for `opts.names`. */
export function makeLeaf(ca: TestCa, opts: LeafOptions): TestCertificate {
  const n = serial++;
  const dir = ca.dir;
  const key = `leaf${n}.key`;
  const csr = `leaf${n}.csr`;
  const out = `leaf${n}.pem`;
  const cn = opts.names[0] ?? `no-san-${n}.test`;
  execFileSync(
    'openssl',
    ['req', '-new', ...keyArgs(opts.keyType ?? 'ec'), '-nodes', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr, ...(opts.names.length > 0 ? ['-addext', `subjectAltName=${opts.names.map((d) => `DNS:${d}`).join(',')}`] : []), ...(opts.extensions ?? []).flatMap((e) => ['-addext', e])],
    { cwd: dir, stdio: 'pipe' },
  );
  const now = Date.now();
  execFileSync(
    'openssl',
    [
      'ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', csr, '-out', out, '-notext',
      '-startdate', opts.notBefore ?? opensslDate(now - 3_600_000), '-enddate', opts.notAfter ?? opensslDate(now + 30 * 86_400_000),
    ],
    { cwd: dir, stdio: 'pipe' },
  );
  const leaf = readFileSync(path.join(dir, out), 'utf8');
  const chain = leaf + ca.cert;
  const keyPem = readFileSync(path.join(dir, key), 'utf8');
  const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', out], { cwd: dir, encoding: 'utf8' }).trim().replace(/^.*=/, '');
  return { chain, key: keyPem, pem: chain + keyPem, fingerprint, file: path.join(dir, out) };
}
