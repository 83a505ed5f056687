import type { CertificateInForce } from '../routing/certificates.js';
import type { Route, RoutingTable } from '../routing/table.js';
import type { AccessLog } from './access-log.js';
import type { BackendLoad } from './backend-load.js';
import type { ErrorPages } from './error-pages.js';
import type { PassiveHealth } from './health.js';
import type { LimitCounters } from './limits.js';
import type { BackendPools } from './pools.js';
import type { OcspStapler } from './tls/ocsp-stapler.js';
import type { HostLabels, TrafficCounters } from './traffic.js';

export interface ProxySettings {
  tcpTimeoutMs: number;
  retryOnError: number;
  deadBackendOn500: boolean;
  deadBackendTTL: number;
  keepAlive: boolean;
  /** An open WebSocket quiet both ways this long (ms) is closed; 0: never. */
  websocketIdleMs: number;
  /** server.idleTimeout (ms): how long a peer may leave bytes untaken before what it stalls is cut. */
  idleTimeoutMs: number;
  /** The port a redirectHttps vhost sends plain-HTTP requests to: https.port, or 443 without an HTTPS listener here. */
  httpsPort: number;
}

/**
 * The ACME HTTP-01 key authorizations this proxy answers itself (SPEC §7),
 * kept by whoever orders certificates; the engine only asks.
 */
export interface AcmeChallenges {
  /** Calls `done` with the key authorization pending for `token` on `host`, or null: not ours, the request goes on as usual. */
  answer(host: string, token: string, done: (keyAuthorization: string | null) => void): void;
}

/** Everything a request needs, built once per worker. Requests only read it. */
export interface ProxyContext {
  settings: ProxySettings;
  table: RoutingTable;
  /** Read-your-writes barrier over every source (see ConfigSource.whenCurrent). */
  whenCurrent(host: string, ready: () => void, path?: string): boolean;
  /** Has the source of a certificate held unchecked check it now (ConfigSource.checkCertificate): the table then holds what it is. */
  checkCertificate(hit: CertificateInForce): void;
  health: PassiveHealth;
  pools: BackendPools;
  /** Requests in flight per backend in this worker (balance "least-requests"). */
  load: BackendLoad;
  errorPages: ErrorPages;
  accessLog: AccessLog | null;
  /** What the limits of SPEC §6 did in this worker. */
  limits: LimitCounters;
  /** What the requests did, for /metrics. */
  traffic: TrafficCounters;
  /** metrics.hosts: which hosts' requests are also counted under their own label; null: none. */
  hostLabels: HostLabels | null;
  /** OCSP stapling for the TLS listener's certificates; null: no TLS listener. */
  ocsp: OcspStapler | null;
  /** ACME challenges answered on plain HTTP; null: https.acme is not configured. */
  challenges: AcmeChallenges | null;
}

/** How long a backend of `route` may keep us waiting (ms): the vhost's tcpTimeout, else the server's. */
export function backendTimeoutMs(settings: ProxySettings, route: Route): number {
  return (route.options?.tcpTimeout ?? 0) * 1000 || settings.tcpTimeoutMs;
}

/** How many failed attempts of a request on `route` are retried: the vhost's retryOnError, else the server's. */
export function retriesFor(settings: ProxySettings, route: Route): number {
  return route.options?.retryOnError ?? settings.retryOnError;
}
