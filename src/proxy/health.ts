import { parseBackend } from '../frontends/backend.js';
import type { Route, RoutingTable } from '../routing/table.js';
import type { DeadMarkReport } from '../vocabulary/dead-marks.js';

export interface HealthSettings {
  /** Seconds a mark lasts. */
  deadBackendTTL: number;
}

/**
 * Passive health: marks a failing backend dead in this worker's table at
 * once, and tells the shared store (Redis) so that every instance skips it.
 * Which failures call for a mark is failure.ts's to say.
 */
export class PassiveHealth {
  constructor(
    private readonly table: RoutingTable,
    private readonly settings: HealthSettings,
    private readonly publish: (report: DeadMarkReport) => void,
  ) {}

  /**
   * Backend `index` of `route` failed for `host` (its dead-marks name: the
   * requested host, and a path frontend's prefix): by its answer (a 5xx) or
   * by its connection (refused, timed out). A frontend's only backend is
   * never marked (Hipache's rule), and an answer never marks its last live
   * one: any client can make a backend answer 500 (a URL that fails), and
   * must not be able to take a vhost down for deadBackendTTL that way.
   */
  report(route: Route, host: string, index: number, by: 'answer' | 'connection'): void {
    if (route.backends.length <= 1) return;
    const now = Date.now();
    if (this.table.isDead(host, index, now)) return;
    if (by === 'answer' && !this.#anotherLive(route, host, index, now)) return;
    const until = now + this.settings.deadBackendTTL * 1000;
    this.table.apply({ type: 'backend-dead', source: 'proxy', mark: { host, index, until } });
    this.publish({ host, index, backendUrl: route.backends[index]!, backendCount: route.backends.length });
  }

  #anotherLive(route: Route, host: string, index: number, now: number): boolean {
    const backends = route.backends;
    for (let i = 0; i < backends.length; i++) {
      if (i !== index && !this.table.isDead(host, i, now) && parseBackend(backends[i]!) !== null) return true;
    }
    return false;
  }
}
