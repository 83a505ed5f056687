// Hipache frontend lists -> a vhosts YAML document that expands back to the
// very same lists: same id, same backends, same order, same repetitions
// (consecutive repetitions become a weight); a path frontend's list
// (`frontend:<host>/<prefix>`) goes under its host's `paths`. Every document
// is checked by reading it back with the file adapter before it is handed out.

import { stringify } from 'yaml';
import { checkVersion, normalizeKey } from '../../adapters/file/index.js';
import { hostOfKey, prefixOfKey, prefixProblem } from '../../src/frontends/path.js';
import { HOST_KEY_PATTERN } from '../../schema/vhosts.schema.js';
import { sameList } from './diff.js';
import { weightedRuns } from './render.js';

/** The schema's maximum weight; a longer run is written as several entries. */
const MAX_WEIGHT = 1000;
const HOST_KEY = new RegExp(HOST_KEY_PATTERN);

export interface ExportedList {
  /** The key after `frontend:`: a host or pattern, optionally followed by a path prefix. */
  host: string;
  /** [id, ...backends], as stored. */
  list: readonly string[];
}

export interface Skipped {
  host: string;
  reason: string;
}

export interface ExportResult {
  text: string;
  exported: number;
  skipped: Skipped[];
}

export function exportVhosts(lists: readonly ExportedList[], header: readonly string[]): ExportResult {
  const skipped: Skipped[] = [];
  let kept = lists.filter((entry) => {
    const reason = unservableKey(entry.host);
    if (reason !== null) skipped.push({ host: entry.host, reason });
    return reason === null;
  });
  // Entries the file adapter refuses (a backend that is not a URL, an empty id) are dropped with its reason.
  const refused = refusedHosts(render(kept, header));
  if (refused.size > 0) {
    for (const [host, reason] of refused) skipped.push({ host, reason });
    kept = kept.filter((entry) => !refused.has(hostOfKey(entry.host))); // a refused host takes its paths along
  }
  const text = render(kept, header);
  assertRoundTrip(text, kept);
  return { text, exported: kept.length, skipped };
}

/** Why a key cannot be a vhosts entry that maps back to itself, or null. */
function unservableKey(key: string): string | null {
  const host = hostOfKey(key);
  if (!HOST_KEY.test(host)) return 'not a host name, wildcard or "*": it cannot be written in a vhosts file';
  if (normalizeKey(host) !== host) return `the proxy looks hosts up lowercased without a trailing dot, so no request reaches this key (rename it to "${normalizeKey(key)}")`;
  const prefix = prefixOfKey(key);
  const problem = prefix === '' ? null : prefixProblem(prefix);
  return problem === null ? null : `${problem}: no request reaches this key`;
}

function render(lists: readonly ExportedList[], header: readonly string[]): string {
  const own = new Map<string, Record<string, unknown>>();
  const paths = new Map<string, Record<string, unknown>>();
  for (const { host: key, list } of lists) {
    const host = hostOfKey(key);
    if (key === host) own.set(host, entryOf(key, list));
    else paths.set(host, { ...paths.get(host), [prefixOfKey(key)]: entryOf(key, list) });
  }
  const vhosts: Record<string, unknown> = {};
  for (const host of new Set(lists.map((entry) => hostOfKey(entry.host)))) {
    vhosts[host] = paths.has(host) ? { ...own.get(host), paths: paths.get(host) } : own.get(host);
  }
  const comments = header.map((line) => `# ${line}\n`).join('');
  return comments + stringify({ vhosts }, { lineWidth: 0 });
}

function entryOf(host: string, [id, ...backends]: readonly string[]): Record<string, unknown> {
  const entries = weightedRuns(backends).flatMap(({ url, weight }) => {
    const parts: unknown[] = [];
    for (let left = weight; left > 0; left -= MAX_WEIGHT) {
      const w = Math.min(left, MAX_WEIGHT);
      parts.push(w === 1 ? url : { url, weight: w });
    }
    return parts;
  });
  // The id is written unless it is the default (the key itself: the host, or the host and path).
  return id === host ? { backends: entries } : { id, backends: entries };
}

function refusedHosts(text: string): Map<string, string> {
  const refused = new Map<string, string>();
  for (const problem of checkVersion([{ file: 'export', text }]).problems) {
    if (problem.host === undefined) throw new Error(`export produced an invalid document: ${problem.path}: ${problem.reason}`);
    const reason = `${problem.path}: ${problem.reason}`;
    refused.set(problem.host, refused.has(problem.host) ? `${refused.get(problem.host)}; ${reason}` : reason);
  }
  return refused;
}

/** The document, read back as the proxy reads it, must give exactly the stored lists. */
function assertRoundTrip(text: string, lists: readonly ExportedList[]): void {
  const { frontends, problems } = checkVersion([{ file: 'export', text }]);
  const broken = lists.find(({ host, list }) => {
    const spec = frontends.get(host);
    return spec === undefined || !sameList([spec.id, ...spec.backends], list);
  });
  if (problems.length > 0 || broken !== undefined || frontends.size !== lists.length) {
    throw new Error(`export would not round-trip${broken ? ` (frontend:${broken.host})` : ''}: this is a bug, please report it`);
  }
}
