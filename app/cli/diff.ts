// The difference between two sets of frontends (what a file asks for, what a
// running instance or Redis has), host by host. Shared by `plan` and `import`
// so both describe a change the same way.

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
export const OPTION_NAMES = Object.keys({ tcpTimeout: 0, retryOnError: 0, redirectHttps: 0, hsts: 0, stripPrefix: 0, balance: 0, sticky: 0 } satisfies Record<keyof FrontendOptions, 0>) as (keyof FrontendOptions)[];

/** An absent option and no options at all are the same thing: the server's default. */
export function sameOptions(a: FrontendOptions | undefined, b: FrontendOptions | undefined): boolean {
  return OPTION_NAMES.every((name) => optionText(a?.[name]) === optionText(b?.[name]));
}

/** An option's value as shown and compared: an object option (sticky) as its JSON, undefined as itself. */
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
