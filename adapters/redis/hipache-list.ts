// What a Hipache `frontend:<host>` list means, in one place for the snapshot
// (read in place from reply bytes) and the per-key re-reads: element 0 is the
// identifier, elements 1..n the backends. An empty (absent) list is no
// frontend. A backend that is not an http(s) URL stays in the list, so the
// indexes of the others (what `dead:<host>` counts) do not shift; it is logged
// and never used.

import type { Logger } from '../../src/log.js';
import { parseBackend } from '../../src/frontends/backend.js';
import { prefixOfKey, prefixProblem } from '../../src/frontends/path.js';
import type { FrontendSpec } from '../../src/vocabulary/events.js';

/** The frontend a list stores, or null for an empty list. */
export function frontendOfList(key: string, items: readonly string[]): FrontendSpec | null {
  if (items.length === 0) return null;
  return { key, id: items[0]!, backends: items.slice(1) };
}

/** Indexes of the backends that are not usable URLs. */
export function malformedBackends(backends: readonly string[]): number[] {
  const bad: number[] = [];
  for (let i = 0; i < backends.length; i++) if (parseBackend(backends[i]!) === null) bad.push(i);
  return bad;
}

/**
 * A warning for a path frontend key no request can match (`frontend:h/api/`,
 * `frontend:h//x`, deeper than 8 segments): it is loaded like any key, and
 * the operator is told why it never serves.
 */
export function warnUnmatchable(log: Logger, redisKey: string, key: string): void {
  const prefix = prefixOfKey(key);
  const problem = prefix === '' ? null : prefixProblem(prefix);
  if (problem !== null) log.warn('path frontend never matched by a request', { key: redisKey, reason: problem });
}

/** One warning per unusable backend, naming the Redis key it is stored under. */
export function warnMalformed(log: Logger, redisKey: string, backends: readonly string[], bad: readonly number[]): void {
  for (const index of bad) log.warn('malformed backend skipped (not an http(s) URL)', { key: redisKey, index, backend: backends[index] });
}
