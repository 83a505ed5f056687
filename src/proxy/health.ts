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

  report(route: Route, host: string, index: number): void {
    if (route.backends.length <= 1) return; // never take down a frontend's only backend
    const now = Date.now();
    if (this.table.isDead(host, index, now)) return;
    const until = now + this.settings.deadBackendTTL * 1000;
    this.table.apply({ type: 'backend-dead', source: 'proxy', mark: { host, index, until } });
    this.publish({ host, index, backendUrl: route.backends[index]!, backendCount: route.backends.length });
  }
}
