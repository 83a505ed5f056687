// What the prober (in the master, which holds no table) is to check, asked
// of a worker's table: each distinct backend URL with its check settings,
// once, however many frontends use it, with the dead marks its result
// decides for each of them.

import { parseBackend } from '../../src/frontends/backend.js';
import { hostOfKey, prefixOfKey } from '../../src/frontends/path.js';
import type { Route, RoutingTable } from '../../src/routing/table.js';
import type { HealthCheckOptions } from '../../src/vocabulary/events.js';
import { checkSettings, type CheckSettings } from './settings.js';

/** A dead mark a check decides: backend `index` of the frontend whose dead set is `name` (`dead:<name>` in Redis). */
export interface MarkPlace {
  name: string;
  index: number;
  backendCount: number;
}

export interface HealthTarget {
  /** The backend URL and its settings: one prober per id, in every process and instance. */
  id: string;
  url: string;
  /** The Host header sent: the first (in name order) of the hosts whose frontends use the backend. */
  host: string;
  settings: CheckSettings;
  /** Where its result is written: a frontend's only backend included (Hipache's rule spares it from passive marks, not from failed checks). */
  marks: MarkPlace[];
}

/** What a worker answers: the targets, or `unchanged` when its frontends are still those of `known`. */
export type TargetsAnswer = { version: string; targets: HealthTarget[] } | { version: string; unchanged: true };

/** The table's frontends, as versions: equal when no frontend changed in any source (dead marks do not count). */
export function frontendsVersion(table: RoutingTable): string {
  return JSON.stringify(table.stats().sourceVersions);
}

/**
 * Every checked backend of the table. Only frontends that are served count
 * (a key two sources define is served by one of them), and only exact hosts:
 * a wildcard frontend's dead sets are per requested host, which a check
 * cannot name, so its backends are not checked for it.
 */
export function healthTargets(table: RoutingTable, server: HealthCheckOptions | null): HealthTarget[] {
  const byId = new Map<string, HealthTarget>();
  for (const route of table.routes()) {
    const host = hostOfKey(route.key);
    if (host.includes('*')) continue;
    // Settings first: a table where nothing is checked costs no lookup per frontend.
    const settings = checkSettings(route.options?.healthCheck, server);
    if (settings === null || !served(table, route)) continue;
    route.backends.forEach((url, index) => {
      if (parseBackend(url) === null) return;
      const id = `${url} ${JSON.stringify(settings)}`;
      let target = byId.get(id);
      if (target === undefined) byId.set(id, (target = { id, url, host, settings, marks: [] }));
      if (host < target.host) target.host = host;
      target.marks.push({ name: route.key, index, backendCount: route.backends.length });
    });
  }
  return [...byId.values()];
}

function served(table: RoutingTable, route: Route): boolean {
  const found = table.lookup(hostOfKey(route.key), prefixOfKey(route.key));
  return found !== undefined && found.key === route.key && found.source === route.source;
}
