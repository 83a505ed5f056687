// The orderer's store without Redis: a directory (https.acme.storage) holding
// `account.pem` and `certs/<host>.pem` (chain then key, one certificate per
// file). The workers serve `certs/` as a certificate directory source named
// `acme` (runtime.ts); the challenges reach them over IPC from the master,
// the one orderer of the instance, so there is nothing to publish or lock.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chown, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AcmeStore, Issued, PendingChallenge } from './store.js';

/** The storage directory: others may pass through to certs/ (the workers' user), never list it; the account key is the owner's alone. */
export const STORAGE_MODE = 0o711;

/** The certificate files' directory under `storage`, which the workers watch. */
export function certificatesDir(storage: string): string {
  return path.join(storage, 'certs');
}

/** Who owns what the workers read. */
export interface Owner {
  uid: number;
  gid: number;
}

/**
 * The `user` workers run as, when this process is root and will hand them
 * the certificates to read after they dropped privileges (worker.ts); null:
 * they run as this process's user and read what it writes.
 */
export function workersOwner(user: string | null): Owner | null {
  if (user === null || process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, user]).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

export class FileAcmeStore implements AcmeStore {
  constructor(
    private readonly storage: string,
    /** Set when the workers run as another user: the certificates (not the account key) are theirs to read. */
    private readonly owner: Owner | null = null,
  ) {}

  async accountKey(create: () => Promise<string>): Promise<string> {
    const file = path.join(this.storage, 'account.pem');
    const held = await readFile(file, 'utf8').catch(() => null);
    if (held !== null) return held;
    const key = await create();
    await mkdir(this.storage, { recursive: true, mode: STORAGE_MODE });
    await writeAtomically(file, key);
    return key;
  }

  async issued(): Promise<Map<string, Issued>> {
    const dir = certificatesDir(this.storage);
    const names = await readdir(dir).catch(() => [] as string[]);
    const issued = new Map<string, Issued>();
    for (const name of names.filter((n) => n.endsWith('.pem'))) {
      const file = path.join(dir, name);
      const [leaf, saved] = await Promise.all([readFile(file, 'utf8').then(leafDates, () => null), stat(file).catch(() => null)]);
      if (leaf !== null && saved !== null) issued.set(name.slice(0, -'.pem'.length), { ...leaf, savedAt: saved.mtimeMs });
    }
    return issued;
  }

  async save(host: string, pem: string): Promise<void> {
    const dir = certificatesDir(this.storage);
    await mkdir(this.storage, { recursive: true, mode: STORAGE_MODE });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${host}.pem`);
    await writeAtomically(file, pem, this.storage, this.owner); // outside certs/: its watcher never sees the temporary
  }

  async publishChallenge(_token: string, _challenge: PendingChallenge | null): Promise<void> {}

  async challenge(): Promise<PendingChallenge | null> {
    return null;
  }

  async lock(): Promise<boolean> {
    return true;
  }

  async unlock(): Promise<void> {}

  async close(): Promise<void> {}
}

/** The leaf's validity (the first certificate of a PEM chain); null when there is none. */
export function leafDates(pem: string): Omit<Issued, 'savedAt'> | null {
  try {
    const leaf = new X509Certificate(pem);
    return { notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) };
  } catch {
    return null;
  }
}

/** A watcher never reads half a file: written elsewhere on the same file system, then renamed over. Private keys: owner only. */
async function writeAtomically(file: string, text: string, beside = path.dirname(file), owner: Owner | null = null): Promise<void> {
  const temporary = path.join(beside, `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temporary, text, { mode: 0o600 });
  if (owner !== null) await chown(temporary, owner.uid, owner.gid);
  await rename(temporary, file);
}
