// Reading certificate files. A read is repeated until two in a row agree, as
// for vhosts files (read.ts): a file being written, or a chain and key being
// replaced one after the other, is not taken half-way. The periodic re-check
// compares what stat says instead of reading: certificate files can be many,
// and a change to one is announced by the directory watch anyway.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/** Larger than any certificate chain and key: such a file is not read. */
export const MAX_PEM_BYTES = 1 << 20;
const ATTEMPTS = 5;

export type TextRead = { text: string } | { error: string };

/** Runs `once` until two results in a row have the same hash (at most 5 times). `known`: a hash needing no confirmation. */
export async function settled<T extends { hash: string }>(once: () => Promise<T>, known?: string): Promise<T> {
  let result = await once();
  if (result.hash === known) return result;
  for (let attempt = 1; attempt < ATTEMPTS; attempt++) {
    const before = result;
    result = await once();
    if (result.hash === before.hash) return result;
  }
  return result;
}

/** The text of a PEM file, or why it cannot be had. */
export async function readPem(path: string): Promise<TextRead> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { error: `cannot read ${path}: not a file` };
    if (info.size > MAX_PEM_BYTES) return { error: `${path} is larger than 1 MiB: not a certificate file` };
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    return { error: `cannot read ${path}: ${errorReason(err)}` };
  }
}

export function errorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return code ?? (err as Error).message;
}

/**
 * What stat says of each path (following symlinks): it changes when a file
 * is replaced (rename, symlink swap), rewritten (size, mtime) or removed.
 */
export async function statSignature(paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map((path) =>
      stat(path).then(
        (s) => `${path}\0${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`,
        (err: NodeJS.ErrnoException) => `${path}\0${err.code ?? 'error'}`,
      ),
    ),
  );
  return parts.join('\n');
}

export function hashTexts(entries: Iterable<[string, TextRead]>): string {
  const hash = createHash('sha256');
  for (const [name, read] of entries) hash.update(`${name}\0${'text' in read ? `+${read.text}` : `-${read.error}`}\0`);
  return hash.digest('hex');
}
