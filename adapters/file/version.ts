// Builds one version of the vhosts configuration from the texts of its files:
// every host it defines validly, and every host whose entry is rejected. A
// version is all the files read together, so a change spanning several files
// is applied as one.

import type { FrontendSpec } from '../../src/vocabulary/events.js';
import type { Vhost } from '../../schema/vhosts.schema.js';
import { parseVhostsText, type VhostsDocument } from './document.js';
import { hostOfKey } from '../../src/frontends/path.js';
import { normalizeKey, toFrontends } from './frontend.js';
import { formatProblem, pointerOf, type FileProblem } from './problems.js';
import { checkDocument, type CheckedEntry } from './validate.js';
import { tlsFilesOf, type VhostTlsFiles } from './vhost-tls.js';

export interface FileText {
  /** The path shown to users (as configured, not the resolved symlink target). */
  file: string;
  text: string;
}

interface Definition {
  file: string;
  line: number;
}

export type Version =
  /** A file is empty: taken as being written, the version is not complete yet. */
  | { kind: 'incomplete'; file: string }
  /** Unreadable as a whole (syntax, or a schema error outside any host): nothing of it applies. */
  | { kind: 'rejected'; problems: FileProblem[] }
  /**
   * Frontends by key: a host's own ("www.x") and its path frontends ("www.x/api");
   * `invalid` hosts (by normalised key) keep their previous version, paths included
   * (quarantine); `tls` the certificate files of the valid hosts that name some.
   */
  | { kind: 'complete'; frontends: Map<string, FrontendSpec>; invalid: Map<string, FileProblem[]>; tls: Map<string, VhostTlsFiles> };

export function buildVersion(files: readonly FileText[]): Version {
  const empty = files.find((f) => f.text.trim() === '');
  if (empty !== undefined) return { kind: 'incomplete', file: empty.file };
  const { rejected, builder } = assemble(files);
  if (rejected.length > 0) return { kind: 'rejected', problems: rejected };
  return { kind: 'complete', frontends: builder.frontends, invalid: builder.invalid, tls: builder.tls };
}

export interface CheckedVersion {
  /** The frontends of the hosts defined validly, their path frontends included ("www.x/api"). */
  frontends: Map<string, FrontendSpec>;
  /** The certificate files of those hosts that name some (not read here: see certificateProblems). */
  tls: Map<string, VhostTlsFiles>;
  /**
   * The per-vhost options each valid entry sets itself (id included), by key:
   * a host's ("www.x", also for a host with paths only) and a path's
   * ("www.x/api"), without what a path takes from its host. For `import`,
   * which stores them as the `options:<key>` hashes of Redis.
   */
  options: Map<string, Record<string, unknown>>;
  /**
   * Every problem the proxy would report for these files, whatever its
   * consequence there (an empty file waited on, the version rejected, or one
   * host quarantined): for `switchyard validate`, where all of them must fail.
   */
  problems: FileProblem[];
}

export function checkVersion(files: readonly FileText[]): CheckedVersion {
  const empty = files.filter((f) => f.text.trim() === '');
  const { rejected, builder } = assemble(files.filter((f) => f.text.trim() !== ''));
  const problems = [...empty.map(emptyFile), ...rejected, ...[...builder.invalid.values()].flat()];
  return { frontends: builder.frontends, tls: builder.tls, options: builder.options, problems };
}

/** Parses and checks every file, then gathers their hosts: the steps shared by the proxy and the CLI. */
function assemble(files: readonly FileText[]): { rejected: FileProblem[]; builder: VersionBuilder } {
  const docs: VhostsDocument[] = [];
  const rejected: FileProblem[] = [];
  for (const { file, text } of files) {
    const parsed = parseVhostsText(text, file);
    if (parsed.ok) docs.push(parsed.doc);
    else rejected.push(...parsed.problems);
  }
  const builder = new VersionBuilder();
  for (const doc of docs) {
    const checked = checkDocument(doc);
    rejected.push(...checked.fatal);
    for (const entry of checked.entries) builder.add(doc, entry);
  }
  return { rejected, builder };
}

function emptyFile({ file }: FileText): FileProblem {
  const reason = 'the file is empty: the proxy takes it as being written and keeps its last version (write `vhosts: {}` for no hosts)';
  return { code: 'FILE_PARSE', file, line: 0, column: 0, path: '', reason };
}

class VersionBuilder {
  readonly frontends = new Map<string, FrontendSpec>();
  readonly invalid = new Map<string, FileProblem[]>();
  readonly tls = new Map<string, VhostTlsFiles>();
  readonly options = new Map<string, Record<string, unknown>>();
  readonly #seen = new Map<string, Definition>();

  add(doc: VhostsDocument, entry: CheckedEntry): void {
    const key = normalizeKey(entry.key);
    const at = doc.locate(pointerOf(['vhosts', entry.key]), true);
    const first = this.#seen.get(key);
    if (first !== undefined) {
      // Neither definition is trusted over the other: the host keeps its previous version.
      for (const k of [...this.frontends.keys()]) if (hostOfKey(k) === key) this.frontends.delete(k);
      for (const k of [...this.options.keys()]) if (hostOfKey(k) === key) this.options.delete(k);
      this.tls.delete(key);
      this.#reject(key, [duplicate(doc.file, entry.key, at.line, at.column, first)]);
      return;
    }
    this.#seen.set(key, { file: doc.file, line: at.line });
    const result = entry.vhost === null ? { ok: false as const, problems: entry.problems } : toFrontends(doc, entry.key, entry.vhost);
    if (!result.ok) return this.#reject(key, result.problems);
    for (const spec of result.specs) this.frontends.set(spec.key, spec);
    for (const [k, options] of ownOptions(key, entry.vhost!)) this.options.set(k, options);
    if (entry.vhost?.tls !== undefined) this.tls.set(key, tlsFilesOf(doc, entry.key, key, entry.vhost.tls));
  }

  #reject(key: string, problems: FileProblem[]): void {
    this.invalid.set(key, [...(this.invalid.get(key) ?? []), ...problems.map((p) => ({ ...p, host: key }))]);
  }
}

/** The vhosts properties that are not per-vhost options: a host's backends, paths and tls, a path's backends. */
const NOT_OPTIONS = new Set(['backends', 'paths', 'tls']);

/** The options the host `key` and each of its paths set themselves (none: left out). */
function ownOptions(key: string, vhost: Vhost): [string, Record<string, unknown>][] {
  const entries: [string, Record<string, unknown>][] = [];
  const own = (entry: object) => Object.fromEntries(Object.entries(entry).filter(([name, value]) => !NOT_OPTIONS.has(name) && value !== undefined));
  const host = own(vhost);
  if (Object.keys(host).length > 0) entries.push([key, host]);
  for (const [prefix, path] of Object.entries(vhost.paths ?? {})) {
    const options = own(path);
    if (Object.keys(options).length > 0) entries.push([key + prefix, options]);
  }
  return entries;
}

function duplicate(file: string, key: string, line: number, column: number, first: Definition): FileProblem {
  const where = first.file === file ? `line ${first.line}` : `${first.file}:${first.line}`;
  const reason = `host "${key}" is defined twice: here and at ${where} (the host keeps its previous version)`;
  return { code: 'FILE_DUPLICATE_HOST', file, line, column, path: pointerOf(['vhosts', key]), reason };
}

/** All problems of a version, one line each. */
export function describeProblems(problems: readonly FileProblem[]): string {
  return problems.map(formatProblem).join('\n');
}
