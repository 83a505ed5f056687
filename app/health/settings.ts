// What a backend's active health check is (SPEC §9): the vhost's healthCheck
// over server.healthCheck, field by field, over the defaults.

import type { HealthCheckOptions } from '../../src/vocabulary/events.js';

/** A check as the prober runs it: times in milliseconds. */
export interface CheckSettings {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyAfter: number;
  healthyAfter: number;
}

export const CHECK_DEFAULTS: Readonly<Required<HealthCheckOptions>> = Object.freeze({
  path: '/',
  interval: 10,
  timeout: 2,
  unhealthyAfter: 3,
  healthyAfter: 2,
});

/**
 * The check of a frontend's backends; null when it has none: the vhost says
 * false, or neither it nor the server asks for one. A timeout longer than
 * the interval is cut to it (two checks of one backend never overlap).
 */
export function checkSettings(vhost: HealthCheckOptions | false | undefined, server: HealthCheckOptions | null): CheckSettings | null {
  if (vhost === false || (vhost === undefined && server === null)) return null;
  const merged = { ...CHECK_DEFAULTS, ...defined(server ?? {}), ...defined(vhost ?? {}) };
  const intervalMs = Math.round(merged.interval * 1000);
  return {
    path: merged.path,
    intervalMs,
    timeoutMs: Math.min(Math.round(merged.timeout * 1000), intervalMs),
    unhealthyAfter: merged.unhealthyAfter,
    healthyAfter: merged.healthyAfter,
  };
}

function defined(options: HealthCheckOptions): HealthCheckOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/**
 * How long a mark the checks write lasts: a few intervals, refreshed while
 * the backend keeps failing. A prober that crashes leaves no mark forever;
 * one that lives never lets a failing backend's mark run out.
 */
export function markTtlMs(settings: CheckSettings): number {
  return Math.max(1000, 4 * settings.intervalMs + settings.timeoutMs);
}
