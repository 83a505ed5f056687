// What a certificate directory (https.certDir, SPEC §7) holds: one
// certificate per PEM file directly in it, its chain and its private key, as
// in HAProxy's `crt` directory. Skipped: names starting with a dot (where
// Kubernetes keeps its `..data` swaps and editors their swap files), backup
// and temporary files (`site.pem~`, `.bak`, `.tmp`: an older copy served
// beside the file would be a surprise), subdirectories (not descended), and
// files with no PEM block or larger than any certificate (a README, an archive). A chain in `NAME.crt` (or `.pem`,
// `.cer`, `.cert`) holding no key takes it from `NAME.key`: the layout of a
// mounted Kubernetes TLS secret (`tls.crt`, `tls.key`).

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateCandidate } from './held-certificates.js';
import { errorReason, MAX_PEM_BYTES, settled, statSignature } from './pem-files.js';

export interface CertDirScan {
  candidates: CertificateCandidate[];
  /** Files that are not certificate files, by name, with why. */
  skipped: Map<string, string>;
  hash: string;
}

type Entry = { text: string } | { error: string } | { skip: string };

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----/;
const PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
const CHAIN_FILE = /^(.+)\.(?:crt|pem|cer|cert)$/i;
const BACKUP_FILE = /(?:~|\.(?:bak|old|orig|tmp|swp|dpkg-\w+|rpmnew|rpmsave))$/i;

/** Reads the directory until two reads agree; throws when it cannot be listed. `known`: the hash of the last scan handled. */
export function scanCertDir(dir: string, known?: string): Promise<CertDirScan> {
  return settled(() => scanOnce(dir), known);
}

/** What stat says of the directory's entries: unchanged, nothing was replaced, rewritten, added or removed. */
export async function certDirSignature(dir: string): Promise<string> {
  return statSignature((await listNames(dir)).map((name) => join(dir, name)));
}

async function scanOnce(dir: string): Promise<CertDirScan> {
  const names = await listNames(dir);
  const entries = await Promise.all(names.map(async (name): Promise<[string, Entry | null]> => [name, await readEntry(join(dir, name))]));
  const present = entries.filter((e): e is [string, Entry] => e[1] !== null);
  return { ...candidatesOf(dir, new Map(present)), hash: hashOf(present) };
}

async function listNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !name.startsWith('.')).sort(byCodePoint);
}

/** Null for what is not a file of the directory (a subdirectory, a dangling link, a file removed meanwhile). */
async function readEntry(path: string): Promise<Entry | null> {
  if (BACKUP_FILE.test(path)) return { skip: 'a backup or temporary file' };
  try {
    const info = await stat(path); // follows symlinks: a swapped link is read as what it points to now
    if (!info.isFile()) return null;
    if (info.size > MAX_PEM_BYTES) return { skip: 'larger than 1 MiB' };
    const text = await readFile(path, 'utf8');
    return PEM_BLOCK.test(text) ? { text } : { skip: 'no PEM block' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    return { error: `cannot read ${path}: ${errorReason(err)}` };
  }
}

function candidatesOf(dir: string, entries: ReadonlyMap<string, Entry>): Omit<CertDirScan, 'hash'> {
  const skipped = new Map<string, string>();
  const paired = new Set<string>();
  const candidates: CertificateCandidate[] = [];
  for (const [name, entry] of entries) {
    if ('skip' in entry) {
      skipped.set(name, entry.skip);
      continue;
    }
    const file = join(dir, name);
    if ('error' in entry) {
      candidates.push({ key: name, name: null, files: { file }, read: entry });
      continue;
    }
    const keyName = PRIVATE_KEY.test(entry.text) ? undefined : pairedKey(name, entries);
    if (keyName === undefined) {
      candidates.push({ key: name, name: null, files: { file }, read: { pem: entry.text } });
      continue;
    }
    paired.add(keyName);
    const key = entries.get(keyName) as { text: string };
    candidates.push({ key: name, name: null, files: { file, keyFile: join(dir, keyName) }, read: { pem: `${entry.text}\n${key.text}` } });
  }
  return { candidates: candidates.filter((c) => !paired.has(c.key)), skipped };
}

/** `NAME.key` beside a chain file `NAME.crt`, when it holds a key. */
function pairedKey(name: string, entries: ReadonlyMap<string, Entry>): string | undefined {
  const stem = CHAIN_FILE.exec(name)?.[1];
  if (stem === undefined) return undefined;
  const keyName = `${stem}.key`;
  const key = entries.get(keyName);
  return key !== undefined && 'text' in key && PRIVATE_KEY.test(key.text) ? keyName : undefined;
}

function hashOf(entries: ReadonlyArray<[string, Entry]>): string {
  const hash = createHash('sha256');
  for (const [name, entry] of entries) hash.update(`${name}\0${JSON.stringify(entry)}\0`);
  return hash.digest('hex');
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
