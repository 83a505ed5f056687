// Reads the configured path (one file, or every *.yaml/*.yml/*.json directly
// in a directory) as one consistent set of texts. A read that raced with a
// change (a Kubernetes ..data swap, a `git pull` touching several files) is
// detected by reading again: a result is kept once two reads in a row agree.
// Comparing contents rather than stat identities (inode, mtime) also holds on
// file systems with coarse timestamps; the files are small.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileProblem } from './problems.js';
import type { FileText } from './version.js';

export type ReadResult =
  | { kind: 'files'; files: FileText[]; hash: string }
  /** The path cannot be read at all; `hash` identifies the condition so it is reported once. */
  | { kind: 'failed'; problem: FileProblem; hash: string };

const EXTENSIONS = /\.(ya?ml|json)$/i;
const ATTEMPTS = 5;

/** `known`: the hash of the version already handled; a read matching it needs no confirmation. */
export async function readVhosts(path: string, known?: string): Promise<ReadResult> {
  let result: ReadResult = await readOnce(path);
  if (result.hash === known) return result;
  for (let attempt = 1; attempt < ATTEMPTS && result.kind === 'files'; attempt++) {
    const before = result;
    result = await readOnce(path);
    if (result.kind === 'files' && result.hash === before.hash) return result;
  }
  return result;
}

/** One read, hashed over names and contents. */
async function readOnce(path: string): Promise<ReadResult> {
  try {
    const names = await listFiles(path);
    const files = await Promise.all(names.map(async (file) => ({ file, text: await readText(file) })));
    const present = files.filter((f): f is FileText => f.text !== null);
    return { kind: 'files', files: present, hash: hashOf(present) };
  } catch (err) {
    return failure(path, err as NodeJS.ErrnoException);
  }
}

/** The files a path stands for, in name order; throws when the path itself is missing or unreadable. */
async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path); // follows symlinks: a symlinked file or directory is what it points to
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => !n.startsWith('.') && EXTENSIONS.test(n)).sort(byCodePoint);
  const kinds = await Promise.all(names.map((n) => stat(join(path, n)).then((s) => s.isFile(), () => false)));
  return names.filter((_, i) => kinds[i]).map((n) => join(path, n));
}

/** Null when a listed file vanished before it could be read (it is being removed). */
async function readText(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function hashOf(files: readonly FileText[]): string {
  const hash = createHash('sha256');
  for (const { file, text } of files) hash.update(`${file}\0${text}\0`);
  return hash.digest('hex');
}

function failure(path: string, err: NodeJS.ErrnoException): ReadResult {
  const missing = err.code === 'ENOENT' || err.code === 'ENOTDIR';
  const reason = missing ? 'no such file or directory (keeping the last version until it is back)' : `cannot be read: ${err.code ?? err.message}`;
  const problem: FileProblem = { code: missing ? 'FILE_MISSING' : 'FILE_READ', file: path, line: 0, column: 0, path: '', reason };
  return { kind: 'failed', problem, hash: `failed:${problem.code}:${reason}` };
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
