import type { Route, RoutingTable } from '../routing/table.js';
import type { DeadMarkReport } from '../vocabulary/dead-marks.js';

export interface HealthSettings {
  deadBackendTTL: number;
  deadBackendOn500: boolean;
}

/** Does this answer mean the backend is unhealthy? 4xx and a 503 with Retry-After (maintenance) never do. */
export function isUnhealthyStatus(status: number, retryAfter: boolean, settings: HealthSettings): boolean {
  if (status === 502 || status === 504) return true;
  if (status === 503) return !retryAfter;
  return status === 500 && settings.deadBackendOn500;
}

/**
 * Passive health: marks a failing backend dead in this worker's table at
 * once, and tells the shared store (Redis) so that every instance skips it.
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
