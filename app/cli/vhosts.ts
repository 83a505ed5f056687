// Reads a vhosts file or directory exactly as the file source does (same
// reader, same schema, same duplicate-host rule, same messages), for the
// commands that check or apply one.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateProblems, checkVersion, formatProblem, readVhosts, type FileProblem } from '../../adapters/file/index.js';
import { hostOfKey } from '../../src/frontends/path.js';
import type { FrontendSpec } from '../../src/vocabulary/events.js';
import { CliError, EXIT_FINDINGS, plural, type ExitCode, type Output } from './command.js';

export interface VhostsTree {
  path: string;
  /** The files read, in the order the proxy reads them. */
  files: string[];
  /** The frontends of the hosts defined validly, by key: a host's own ("www.x") and its paths' ("www.x/api"). */
  frontends: Map<string, FrontendSpec>;
  /** The per-vhost options each entry sets itself (id included), by key: a host's, a path's ("www.x/api"). */
  options: Map<string, Record<string, unknown>>;
  /** The hosts that name a certificate (`tls`), by normalised key. */
  tlsHosts: string[];
  /** Every problem, in file, line, column order. */
  problems: FileProblem[];
  /** Subdirectories the proxy does not read (only files directly in the directory are). */
  ignored: string[];
}

export async function loadVhostsTree(path: string): Promise<VhostsTree> {
  const read = await readVhosts(path);
  if (read.kind === 'failed') {
    const why = read.problem.code === 'FILE_MISSING' ? 'no such file or directory' : read.problem.reason;
    throw new CliError('UNREADABLE', `cannot read ${path}: ${why}`);
  }
  const { frontends, tls, options, problems } = checkVersion(read.files);
  // A certificate the proxy would quarantine is a problem here, like a host it would quarantine.
  problems.push(...(await certificateProblems(tls)));
  return { path, files: read.files.map((f) => f.file), frontends, options, tlsHosts: [...tls.keys()], problems: problems.sort(byLocation), ignored: await ignoredDirectories(path) };
}

/** How many hosts a tree defines (its path frontends are not hosts of their own). */
export function hostCount(tree: VhostsTree): number {
  return new Set([...tree.frontends.keys()].map(hostOfKey)).size;
}

/** For plan and import: the tree, or the exit code when it is invalid (its problems printed as validate would). */
export async function loadValidTree(path: string, io: Output): Promise<VhostsTree | ExitCode> {
  const tree = await loadVhostsTree(path);
  warnIgnored(tree, io);
  return refuseInvalid(tree, io) ?? tree;
}

function refuseInvalid(tree: VhostsTree, io: Output): ExitCode | null {
  if (tree.problems.length === 0) return null;
  for (const problem of tree.problems) io.err(`${formatProblem(problem)}\n`);
  io.err(`refusing ${tree.path}: ${plural(tree.problems.length, 'problem')} (the output of \`switchyard validate ${tree.path}\`)\n`);
  return EXIT_FINDINGS;
}

export function warnIgnored(tree: VhostsTree, io: Output): void {
  for (const dir of tree.ignored) io.err(`warning: ${dir}/ is not read: the proxy reads only the files directly in ${tree.path}\n`);
}

async function ignoredDirectories(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(path, e.name));
  } catch {
    return []; // a file, not a directory
  }
}

function byLocation(a: FileProblem, b: FileProblem): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}
