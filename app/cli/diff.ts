// The difference between two sets of frontends (what a file asks for, what a
// running instance or Redis has), host by host. Shared by `plan` and `import`
// so both describe a change the same way.

import { optionsHash, parseOptions, type StoredOptions } from '../../adapters/redis/index.js';
import type { FrontendOptions, FrontendSpec } from '../../src/vocabulary/events.js';

export type ChangeKind = 'add' | 'change' | 'remove' | 'unchanged';

export interface FrontendChange {
  kind: ChangeKind;
  key: string;
  /** Null for an added host. */
  before: FrontendSpec | null;
  /** Null for a removed host. */
  after: FrontendSpec | null;
}

export type ChangeCounts = Record<ChangeKind, number>;

/**
 * `desired` against `current`, in host order. Hosts only in `current` are
 * removals when `removals` is set, and left out otherwise (import without --prune).
 */
export function diffFrontends(
  desired: ReadonlyMap<string, FrontendSpec>,
  current: ReadonlyMap<string, FrontendSpec>,
  { removals }: { removals: boolean },
): FrontendChange[] {
  const changes: FrontendChange[] = [];
  for (const [key, after] of desired) {
    const before = current.get(key) ?? null;
    const kind = before === null ? 'add' : sameFrontend(before, after) ? 'unchanged' : 'change';
    changes.push({ kind, key, before, after });
  }
  if (removals) {
    for (const [key, before] of current) if (!desired.has(key)) changes.push({ kind: 'remove', key, before, after: null });
  }
  return changes.sort((a, b) => compareHosts(a.key, b.key));
}

export function countChanges(changes: readonly FrontendChange[]): ChangeCounts {
  const counts: ChangeCounts = { add: 0, change: 0, remove: 0, unchanged: 0 };
  for (const change of changes) counts[change.kind]++;
  return counts;
}

export function hasChanges(counts: ChangeCounts): boolean {
  return counts.add + counts.change + counts.remove > 0;
}

/** Same id, same backends in the same order with the same repetitions, same options. */
export function sameFrontend(a: FrontendSpec, b: FrontendSpec): boolean {
  return a.id === b.id && sameList(a.backends, b.backends) && sameOptions(a.options, b.options);
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Every per-vhost option, in the order they are shown (the Record makes a new option a compile error until listed). */
export const OPTION_NAMES = Object.keys({ tcpTimeout: 0, retryOnError: 0, redirectHttps: 0, hsts: 0, stripPrefix: 0, balance: 0, sticky: 0, healthCheck: 0 } satisfies Record<keyof FrontendOptions, 0>) as (keyof FrontendOptions)[];

/** An absent option and no options at all are the same thing: the server's default. */
export function sameOptions(a: FrontendOptions | undefined, b: FrontendOptions | undefined): boolean {
  // Object options (sticky, healthCheck) compare by their JSON: the file adapter and Redis write their fields in one order.
  return OPTION_NAMES.every((name) => optionText(a?.[name]) === optionText(b?.[name]));
}

/** An option's value as shown and compared: an object option (sticky, healthCheck) as its JSON, undefined as itself. */
export function optionText(value: FrontendOptions[keyof FrontendOptions]): string | undefined {
  return value === undefined ? undefined : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * Hosts grouped by domain, the way people read them: labels compared from the
 * right, so "*.example.com", "api.example.com" and "www.example.com" sit
 * together, and "*" (everything else) comes first.
 */
export function compareHosts(a: string, b: string): number {
  const ra = a.split('.').reverse().join('.');
  const rb = b.split('.').reverse().join('.');
  return ra < rb ? -1 : ra > rb ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/** What import does to one `options:<key>` hash: replace it (DEL + HSET `after`), delete it, or nothing. */
export interface OptionsChange {
  kind: 'write' | 'delete' | 'unchanged';
  key: string;
  /** The fields stored now (null: no hash). */
  before: Readonly<Record<string, string>> | null;
  /** The fields written (null: deleted, or unchanged and absent). */
  after: Readonly<Record<string, string>> | null;
}

/**
 * The options hashes `wanted` (null: none) against those `stored`, compared
 * by value (`60` and `6e1` are the same JSON), `id` aside: the id is the
 * list's first element, compared with the frontends. A stored `id` is kept
 * when the hash is rewritten (the list, when it is rewritten, takes it over).
 * Hashes stored for keys not wanted are deleted when `removals` is set.
 */
export function diffOptions(
  wanted: ReadonlyMap<string, Readonly<Record<string, string>> | null>,
  stored: ReadonlyMap<string, StoredOptions>,
  { removals }: { removals: boolean },
): OptionsChange[] {
  const changes: OptionsChange[] = [];
  for (const [key, after] of wanted) {
    const value = stored.get(key);
    const before = value === undefined ? null : value.kind === 'hash' ? value.fields : { '(not a hash)': '' };
    const { id, fields } = comparable(key, value);
    const same = fields !== undefined && sameFields(fields, after ?? {});
    const keep: Record<string, string> = id === undefined ? {} : { id };
    if (same) changes.push({ kind: 'unchanged', key, before, after: before });
    else if (after === null && id === undefined) changes.push({ kind: 'delete', key, before, after: null });
    else changes.push({ kind: 'write', key, before, after: { ...after, ...keep } });
  }
  if (removals) {
    for (const [key, value] of stored) {
      if (!wanted.has(key)) changes.push({ kind: 'delete', key, before: value.kind === 'hash' ? value.fields : { '(not a hash)': '' }, after: null });
    }
  }
  return changes.sort((a, b) => compareHosts(a.key, b.key));
}

/** A stored hash as import compares it: its fields but `id`, normalised (undefined: not valid, always rewritten), and its `id` field. */
function comparable(key: string, value: StoredOptions | undefined): { id?: string; fields?: Record<string, string> } {
  if (value === undefined || value.kind === 'absent') return { fields: {} };
  if (value.kind !== 'hash') return {};
  const parsed = parseOptions(key, value.fields);
  if (!parsed.ok) return {};
  const { id, ...options } = parsed.options;
  return { ...(id === undefined ? {} : { id: value.fields.id! }), fields: optionsHash(options) };
}

function sameFields(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => b[name] === a[name]);
}
