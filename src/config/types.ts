// The canonical, validated configuration every part of Switchyard reads.
// Both Hipache config generations (and Switchyard's own keys) are adapted to
// this one shape by config/normalize.ts; nothing downstream sees raw JSON.

import type { HealthCheckOptions } from '../vocabulary/events.js';

export interface RedisEndpoint {
  host: string;
  port: number;
  password?: string;
  username?: string;
  db: number;
  /** Prefix applied to `frontend:` and `dead:` keys (the `#prefix` of a driver URL). */
  prefix: string;
  /** The original URL with the password masked, for logs. */
  display: string;
}

/** How the Redis adapter follows changes. `auto` tries them in this order. */
export type RedisTrackingMode = 'auto' | 'keyspace' | 'tracking' | 'per-request';

/** How the Redis source behaves, whichever way its Redis is found. */
export interface RedisSourceOptions {
  tracking: RedisTrackingMode;
  /** Upper bound on how long a request waits for a change Redis just announced (ms). */
  syncTimeoutMs: number;
  /**
   * Guarantee that a request sent after a redis write returned sees it. Redis
   * may deliver a keyspace notification after the writer's reply, so each
   * batch of requests waits for a PING on the notification connection.
   */
  readYourWrites: boolean;
}

/** Redis at fixed addresses: driver URLs or the pre-0.4 keys. */
export interface RedisDirectConfig extends RedisSourceOptions {
  /** Read from here (a replica when two driver URLs are given). */
  read: RedisEndpoint;
  /** Dead marks and the `dead` channel go here (the master). Same as `read` with one URL. */
  write: RedisEndpoint;
  sentinel?: undefined;
}

/**
 * Redis whose master the sentinels name. There is no fixed address to put in
 * `read`/`write`: the adapter asks the sentinels, reads from and writes to the
 * master they name, and follows it across failovers.
 */
export interface RedisSentinelConfig extends RedisSourceOptions {
  sentinel: SentinelConfig;
  read?: undefined;
  write?: undefined;
}

export type RedisSourceConfig = RedisDirectConfig | RedisSentinelConfig;

export interface SentinelNode {
  host: string;
  port: number;
}

export interface SentinelConfig {
  /** The master's name, as in `sentinel monitor <name> ...`. */
  name: string;
  /** Asked in this order; the first that answers is believed. */
  nodes: SentinelNode[];
  /** AUTH for the sentinels themselves (`requirepass` of sentinel.conf). */
  password?: string;
  /** AUTH for the master the sentinels name. */
  masterPassword?: string;
  db: number;
  /** Prefix applied to `frontend:` and `dead:` keys on the master. */
  prefix: string;
}

export interface FileSourceConfig {
  path: string;
  /** Re-check period (ms) behind the change events; default 2000. */
  pollIntervalMs?: number;
}

export interface ListenConfig {
  port: number;
  bind: string[];
  /** Each connection starts with a PROXY header (v1 or v2) naming the client; it comes from a trusted proxy. */
  proxyProtocol: boolean;
}

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface HttpsListenConfig extends ListenConfig {
  /** The default certificate's key and chain: served when no other certificate covers the SNI name (or none is sent). */
  key: string;
  cert: string;
  ca?: string[];
  /** A watched directory of certificate files (SPEC §7), absolute; null for none. */
  certDir: string | null;
  /** OpenSSL cipher list; null: Mozilla's intermediate profile (src/proxy/tls-profile.ts). */
  ciphers: string | null;
  minVersion: TlsVersion;
  /** Between replacements of the session ticket key (ms). */
  ticketKeyRotationMs: number;
  /** Certificates ordered from an ACME CA (SPEC §7); null: none. */
  acme: AcmeConfig | null;
}

export interface AcmeConfig {
  directory: string;
  email: string;
  /** CA bundle for the directory's TLS (absolute); null: the system's. */
  ca: string | null;
  /** Where the account key and the certificates are kept without Redis (absolute). */
  storage: string;
  /** Between looks for hosts that need a certificate (ms). */
  checkIntervalMs: number;
  /** Before a failed host is tried again, doubled at each failure in a row (ms). */
  retryAfterMs: number;
}

/** server.accessLogFormat: nginx "combined" (followed by the request id), or one JSON object a line. */
export type AccessLogFormat = 'combined' | 'json';

/** server.logFormat: the process log as `time LEVEL process [component] message key=value`, or one JSON object a line. */
export type LogFormat = 'text' | 'json';

export interface ServerConfig {
  /** A file, "-" for standard output, null for none. */
  accessLog: string | null;
  accessLogFormat: AccessLogFormat;
  logFormat: LogFormat;
  workers: number;
  maxSockets: number;
  /** Seconds. */
  tcpTimeout: number;
  /** Seconds. */
  deadBackendTTL: number;
  retryOnError: number;
  deadBackendOn500: boolean;
  httpKeepAlive: boolean;
  staticDir: string | null;
  debug: boolean;
  /** Seconds to receive a complete request head before 408. */
  headersTimeout: number;
  /** Seconds a kept-alive client connection may stay idle between requests. */
  keepAliveTimeout: number;
  /** Seconds a client may stall a request (its body, or reading the answer) before it is cut. */
  idleTimeout: number;
  /** Seconds a WebSocket may stay quiet both ways before it is closed; null: never. */
  websocketIdleTimeout: number | null;
  /** Client connections per worker, over all listeners; 0: no limit. */
  maxConnections: number;
  /** A worker above this RSS (MiB) drains and is replaced; 0 disables. */
  workerMemoryLimitMiB: number;
  /** Seconds between memory checks. */
  memoryCheckInterval: number;
  /** Seconds a draining worker (or a SIGTERM'd master) waits for in-flight requests. */
  drainTimeout: number;
  /** Words ("loopback", "private", "all"), addresses and CIDRs whose X-Forwarded-* and X-Real-IP are believed. */
  trustedProxies: string[];
  /** Seconds a reload's new generation is on probation: a worker failing to listen or dying within it rolls the reload back. */
  reloadTimeout: number;
  /** Seconds between SIGTERM and the drain, /readyz saying 503 meanwhile. */
  shutdownDelay: number;
  /** Active health checks of every frontend's backends, as written (defaults applied per backend, app/health/settings.ts); null: only vhosts that ask. */
  healthCheck: HealthCheckOptions | null;
}

export interface AdminConfig {
  port: number;
  bind: string;
  token: string | null;
}

export interface MetricsConfig {
  /** Hosts and patterns ("*.example.com") counted under their own `host` label, lower case. */
  hosts: string[];
}

export interface SwitchyardConfig {
  server: ServerConfig;
  http: ListenConfig | null;
  https: HttpsListenConfig | null;
  redis: RedisSourceConfig | null;
  file: FileSourceConfig | null;
  precedence: 'redis' | 'file';
  admin: AdminConfig | null;
  metrics: MetricsConfig;
  user: string | null;
  /** The file it was loaded from, when any (SIGHUP reloads it). */
  origin: string | null;
}
