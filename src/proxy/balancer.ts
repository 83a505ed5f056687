import { parseBackend, type BackendTarget } from '../frontends/backend.js';
import type { Route, RoutingTable } from '../routing/table.js';
import type { BackendLoad } from './backend-load.js';
import { stickyName } from './sticky.js';

export interface Pick {
  index: number;
  target: BackendTarget;
}

/**
 * A live backend of a route: the one `wanted` names (a sticky cookie's
 * value, sticky.ts) when it is listed and live, else a choice by the route's
 * `balance`: at random (a URL listed twice is twice as likely), or for
 * "least-requests" the less loaded of two picked at random (the power of two
 * choices: close to the least loaded of all, without looking at all, and
 * without sending every new request to the same one). Dead, malformed and
 * already-tried backends are skipped.
 */
export function pickBackend(table: RoutingTable, route: Route, host: string, tried: readonly number[], load: BackendLoad, wanted: string | null = null): Pick | null {
  const backends = route.backends;
  const n = backends.length;
  if (n === 0) return null;
  if (wanted !== null) {
    const named = namedBackend(table, route, host, tried, wanted);
    if (named !== null) return named;
  }
  const least = route.options?.balance === 'least-requests';
  if (tried.length === 0 && !table.hasDeadMarks(host)) {
    const index = least && n > 1 ? lesserOfTwo(backends, null, n, load) : Math.floor(Math.random() * n);
    const target = parseBackend(backends[index]!);
    if (target !== null) return { index, target };
  }
  const now = Date.now();
  const live: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!tried.includes(i) && !table.isDead(host, i, now) && parseBackend(backends[i]!) !== null) live.push(i);
  }
  if (live.length === 0) return null;
  const index = least && live.length > 1 ? lesserOfTwo(backends, live, live.length, load) : live[Math.floor(Math.random() * live.length)]!;
  return { index, target: parseBackend(backends[index]!)! };
}

/**
 * Two distinct candidates at random (of `candidates`, or of every index when
 * null), the one with fewer requests in flight; a tie goes to the first
 * drawn, itself random. A malformed backend loses.
 */
function lesserOfTwo(backends: readonly string[], candidates: readonly number[] | null, count: number, load: BackendLoad): number {
  const a = Math.floor(Math.random() * count);
  let b = Math.floor(Math.random() * (count - 1));
  if (b >= a) b++;
  const ia = candidates === null ? a : candidates[a]!;
  const ib = candidates === null ? b : candidates[b]!;
  const ta = parseBackend(backends[ia]!);
  const tb = parseBackend(backends[ib]!);
  if (ta === null) return ib;
  if (tb === null) return ia;
  return load.inFlight(tb) < load.inFlight(ta) ? ib : ia;
}

/** The listed, live, untried backend whose sticky name is `wanted`, or null. */
function namedBackend(table: RoutingTable, route: Route, host: string, tried: readonly number[], wanted: string): Pick | null {
  const backends = route.backends;
  const now = Date.now();
  for (let i = 0; i < backends.length; i++) {
    const target = parseBackend(backends[i]!);
    if (target === null || tried.includes(i) || table.isDead(host, i, now)) continue;
    // Dead marks are per index: a URL listed twice may be live at the next.
    if (stickyName(target) === wanted) return { index: i, target };
  }
  return null;
}
