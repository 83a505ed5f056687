// Hipache frontend lists -> a vhosts YAML document that expands back to the
// very same lists: same id, same backends, same order, same repetitions
// (consecutive repetitions become a weight); a path frontend's list
// (`frontend:<host>/<prefix>`) goes under its host's `paths`; the options of
// each key's `options:` hash go into its entry (a host's, also for a host
// with paths only, or a path's), `id` replacing the list's. Every document
// is checked by reading it back with the file adapter before it is handed out:
// it must serve what Redis serves.

import { stringify } from 'yaml';
import { checkVersion, normalizeKey } from '../../adapters/file/index.js';
import { servedFrontend, type VhostOptions } from '../../adapters/redis/index.js';
import { hostOfKey, prefixOfKey, prefixProblem } from '../../src/frontends/path.js';
import { HOST_KEY_PATTERN } from '../../schema/vhosts.schema.js';
import { sameList, sameOptions } from './diff.js';
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
  /** The key skipped is the options hash of `host`, not its list. */
  options?: true;
}

export interface ExportResult {
  text: string;
  exported: number;
  skipped: Skipped[];
}

/** `options`: the valid options hashes, by frontend key (what Redis serves with the lists). */
export function exportVhosts(lists: readonly ExportedList[], header: readonly string[], options: ReadonlyMap<string, VhostOptions> = new Map()): ExportResult {
  const skipped: Skipped[] = [];
  let kept = lists.filter((entry) => {
    const reason = unservableKey(entry.host);
    if (reason !== null) skipped.push({ host: entry.host, reason });
    return reason === null;
  });
  // Entries the file adapter refuses (a backend that is not a URL, an empty id) are dropped with its reason.
  const refused = refusedHosts(render(kept, header, options));
  if (refused.size > 0) {
    for (const [host, reason] of refused) skipped.push({ host, reason });
    kept = kept.filter((entry) => !refused.has(hostOfKey(entry.host))); // a refused host takes its paths along
  }
  const keptOptions = optionsWritten(kept, options, skipped);
  const text = render(kept, header, keptOptions);
  assertRoundTrip(text, kept, keptOptions);
  return { text, exported: kept.length, skipped };
}

/**
 * The options that have a place in the document: those of an exported
 * frontend, and a host's whose paths are exported (they cover them). Others
 * serve nothing (held for a frontend that does not exist) and are skipped.
 */
function optionsWritten(kept: readonly ExportedList[], options: ReadonlyMap<string, VhostOptions>, skipped: Skipped[]): Map<string, VhostOptions> {
  const keys = new Set(kept.map((entry) => entry.host));
  const hosts = new Set(kept.map((entry) => hostOfKey(entry.host)));
  const written = new Map<string, VhostOptions>();
  for (const [key, value] of options) {
    if (keys.has(key) || (key === hostOfKey(key) && hosts.has(key))) written.set(key, value);
    else skipped.push({ host: key, reason: 'no frontend uses these options (no exported frontend or path frontend of this key): nothing to write them under', options: true });
  }
  return written;
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

function render(lists: readonly ExportedList[], header: readonly string[], options: ReadonlyMap<string, VhostOptions>): string {
  const own = new Map<string, Record<string, unknown>>();
  const paths = new Map<string, Record<string, unknown>>();
  for (const { host: key, list } of lists) {
    const host = hostOfKey(key);
    if (key === host) own.set(host, entryOf(key, list, options.get(key)));
    else paths.set(host, { ...paths.get(host), [prefixOfKey(key)]: entryOf(key, list, options.get(key)) });
  }
  const vhosts: Record<string, unknown> = {};
  for (const host of new Set(lists.map((entry) => hostOfKey(entry.host)))) {
    // A host with paths only still carries its options: they cover its paths.
    const entry = own.get(host) ?? { ...options.get(host) };
    vhosts[host] = paths.has(host) ? { ...entry, paths: paths.get(host) } : entry;
  }
  const comments = header.map((line) => `# ${line}\n`).join('');
  return comments + stringify({ vhosts }, { lineWidth: 0 });
}

function entryOf(host: string, [listId, ...backends]: readonly string[], options: VhostOptions = {}): Record<string, unknown> {
  const entries = weightedRuns(backends).flatMap(({ url, weight }) => {
    const parts: unknown[] = [];
    for (let left = weight; left > 0; left -= MAX_WEIGHT) {
      const w = Math.min(left, MAX_WEIGHT);
      parts.push(w === 1 ? url : { url, weight: w });
    }
    return parts;
  });
  const { id = listId, ...rest } = options;
  // The id is written unless it is the default (the key itself: the host, or the host and path).
  return id === host ? { ...rest, backends: entries } : { id, ...rest, backends: entries };
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

/** The document, read back as the proxy reads it, must give exactly the frontends Redis serves. */
function assertRoundTrip(text: string, lists: readonly ExportedList[], options: ReadonlyMap<string, VhostOptions>): void {
  const { frontends, problems } = checkVersion([{ file: 'export', text }]);
  const broken = lists.find(({ host, list }) => {
    const spec = frontends.get(host);
    const served = servedFrontend({ key: host, id: list[0]!, backends: list.slice(1) }, options.get(host), options.get(hostOfKey(host)));
    return spec === undefined || !sameList([spec.id, ...spec.backends], [served.id, ...served.backends]) || !sameOptions(spec.options, served.options);
  });
  if (problems.length > 0 || broken !== undefined || frontends.size !== lists.length) {
    throw new Error(`export would not round-trip${broken ? ` (frontend:${broken.host})` : ''}: this is a bug, please report it`);
  }
}
