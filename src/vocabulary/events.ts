// The typed change events every ConfigSource emits. The RoutingTable is a
// pure projection of these; nothing else writes routing state.

/** Who produced an event: "redis", "file", or "proxy" (a worker's own dead mark). */
export type SourceName = string;

/** Per-vhost overrides a source may carry (a vhosts entry's, a Redis `options:<frontend>` hash's). */
export interface FrontendOptions {
  tcpTimeout?: number;
  retryOnError?: number;
  /** Plain-HTTP requests get a 308 to the same URL over HTTPS (ACME challenges excepted). */
  redirectHttps?: boolean;
  /** Strict-Transport-Security max-age (seconds) of answers over HTTPS. */
  hsts?: number;
  /** A path frontend's backends get the request path without the frontend's prefix ("/api/v1" -> "/v1"). */
  stripPrefix?: boolean;
  /** How a backend is chosen among the live ones; absent: "random" (Hipache's). */
  balance?: 'random' | 'least-requests';
  /** Sticky sessions: this cookie names the backend that answered (SPEC §9). */
  sticky?: { cookie: string };
  /** Active health checks of the backends (SPEC §9); unset fields take server.healthCheck's; false: none for this vhost. */
  healthCheck?: HealthCheckOptions | false;
}

/** A vhost's active health check, as written: seconds for times; every field optional (server.healthCheck's, then the defaults). */
export interface HealthCheckOptions {
  path?: string;
  interval?: number;
  timeout?: number;
  unhealthyAfter?: number;
  healthyAfter?: number;
}

/**
 * A frontend as a source defines it. `key` is the lookup key: an exact host
 * ("www.example.com"), a wildcard ("*.example.com") or the catch-all ("*"),
 * optionally followed by a path prefix ("www.example.com/api", SPEC §9).
 * A backend listed twice gets twice the traffic (Hipache's weighting).
 */
export interface FrontendSpec {
  key: string;
  id: string;
  backends: readonly string[];
  options?: FrontendOptions;
}

/**
 * Backend `index` of the frontend serving requested host `host` is dead until `until` (epoch ms).
 * For a path frontend `host` is the requested host followed by the prefix ("www.x/api").
 */
export interface DeadMark {
  host: string;
  index: number;
  until: number;
}

/**
 * A source's frontends in bulk, as a large snapshot carries them: the
 * compact FrontendSet (src/frontends/), which the table moves in without a
 * copy. Declared here by its shape so that this vocabulary imports nothing.
 */
export interface FrontendCollection extends Iterable<FrontendSpec> {
  readonly size: number;
}

/**
 * A certificate as a source serves it, checked before it is emitted (the
 * source keeps a bad one out and reports it: see QuarantinedCertificate).
 * Stored under `key`: the name a Redis `tls:` key or a vhosts host names,
 * or a certDir file's name. It serves `names`: the stored name, or for a
 * certDir file the DNS names of its SANs; lowercase, "*.example.com" for a
 * wildcard (one label).
 */
export interface CertificateSpec {
  key: string;
  names: readonly string[];
  /** PEM text: the chain, leaf first, and the private key. */
  pem: string;
  /**
   * False: held as read, its check deferred (a snapshot of many certificates
   * checks the first ones and defers the rest: a check costs about a
   * millisecond). It is never served so: the first handshake that selects it
   * has its source check it (ConfigSource.checkCertificate), and the source
   * checks the rest in the background. Until then `notAfter` is +Infinity and
   * `fingerprint` empty.
   */
  checked: boolean;
  /** The leaf's notAfter, epoch ms. */
  notAfter: number;
  /** The leaf's SHA-256 fingerprint: two specs with the same one are the same certificate. */
  fingerprint: string;
}

export interface SourceErrorInfo {
  code: string;
  message: string;
}

/**
 * What a source's frontends are, as a short string: equal versions mean the
 * same frontends (a digest of their content, not a counter), so two workers,
 * or two instances, reading one source can tell whether they serve the same
 * configuration. Carried by every event that changes a source's frontends.
 */
export type ConfigVersion = string;

export type ConfigEvent =
  | { type: 'frontend-set'; source: SourceName; version: ConfigVersion; frontend: FrontendSpec }
  | { type: 'frontend-removed'; source: SourceName; version: ConfigVersion; key: string }
  | { type: 'backend-dead'; source: SourceName; mark: DeadMark }
  | { type: 'backend-alive'; source: SourceName; host: string; index: number }
  /**
   * Everything the source knows, replacing all it said before (after a (re)connect or reload).
   * A large source sends a FrontendSet (compact, built page by page): applying the event moves
   * it into the table without a copy and leaves the event's set detached, so a snapshot is
   * applied once, by one table, and its sender must not use the set afterwards (it may clone
   * it first). An array is left as it is.
   */
  | {
      type: 'snapshot';
      source: SourceName;
      version: ConfigVersion;
      frontends: readonly FrontendSpec[] | FrontendCollection;
      dead: DeadMark[];
      /** The source's certificates, replacing those it gave before; absent: it has none. */
      certificates?: readonly CertificateSpec[];
      /** A source of certificates alone (https.certDir): its snapshot says nothing of routes, so it does not make the table loaded. */
      certificatesOnly?: true;
    }
  | { type: 'certificate-set'; source: SourceName; certificate: CertificateSpec }
  | { type: 'certificate-removed'; source: SourceName; key: string }
  | { type: 'source-error'; source: SourceName; error: SourceErrorInfo }
  | { type: 'source-recovered'; source: SourceName };

export type ConfigEventType = ConfigEvent['type'];

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
