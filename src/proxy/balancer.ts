import { parseBackend, type BackendTarget } from '../frontends/backend.js';
import type { Route, RoutingTable } from '../routing/table.js';

export interface Pick {
  index: number;
  target: BackendTarget;
}

/**
 * Random choice over the live backends of a route (a URL listed twice is
 * twice as likely). Dead, malformed and already-tried backends are skipped.
 */
export function pickBackend(table: RoutingTable, route: Route, host: string, tried: readonly number[]): Pick | null {
  const backends = route.backends;
  const n = backends.length;
  if (n === 0) return null;
  if (tried.length === 0 && !table.hasDeadMarks(host)) {
    const index = Math.floor(Math.random() * n);
    const target = parseBackend(backends[index]!);
    if (target !== null) return { index, target };
  }
  const now = Date.now();
  const live: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!tried.includes(i) && !table.isDead(host, i, now) && parseBackend(backends[i]!) !== null) live.push(i);
  }
  if (live.length === 0) return null;
  const index = live[Math.floor(Math.random() * live.length)]!;
  return { index, target: parseBackend(backends[index]!)! };
}
