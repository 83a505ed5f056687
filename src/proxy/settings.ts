import type { RoutingTable } from '../routing/table.js';
import type { AccessLog } from './access-log.js';
import type { ErrorPages } from './error-pages.js';
import type { PassiveHealth } from './health.js';
import type { BackendPools } from './pools.js';

export interface ProxySettings {
  tcpTimeoutMs: number;
  retryOnError: number;
  deadBackendOn500: boolean;
  deadBackendTTL: number;
  keepAlive: boolean;
}

/** Everything a request needs, built once per worker. Requests only read it. */
export interface ProxyContext {
  settings: ProxySettings;
  table: RoutingTable;
  /** Read-your-writes barrier over every source (see ConfigSource.whenCurrent). */
  whenCurrent(host: string, ready: () => void): boolean;
  health: PassiveHealth;
  pools: BackendPools;
  errorPages: ErrorPages;
  accessLog: AccessLog | null;
}
