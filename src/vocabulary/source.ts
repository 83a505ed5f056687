import type { ConfigEvent, SourceErrorInfo, SourceName } from './events.js';

export type SourceState = 'starting' | 'ready' | 'degraded' | 'stopped';

export interface SourceStatus {
  name: SourceName;
  state: SourceState;
  /** How the source follows changes, e.g. "keyspace", "tracking", "per-request", "watch". */
  mode: string;
  lastError: SourceErrorInfo | null;
  /** Epoch ms of the last full snapshot. */
  lastSnapshotAt: number | null;
  /** What the source serves, when it can name it (the file source: a content hash). */
  version?: string;
  /**
   * Frontends whose latest definition was rejected while the rest of the
   * source's configuration applied: each keeps its previous version, if it had one.
   */
  quarantined?: QuarantinedFrontend[];
  /** Certificates rejected (SPEC §7): each name keeps the last good one, if there was one. */
  quarantinedCertificates?: QuarantinedCertificate[];
}

export interface QuarantinedCertificate {
  /** Where the source keeps it: the name of a `tls:` key or vhosts host, or a certDir file. */
  key: string;
  /** Why: unparsable, key mismatch, expired, not covering the name it is stored under. */
  reason: string;
  /** "previous": the last good certificate stored there is still served; "none": nothing is. */
  serving: 'previous' | 'none';
}

export interface QuarantinedFrontend {
  key: string;
  /** Why, one problem per line (for a file: `file:line:column: /json/path: reason`). */
  reason: string;
  /** "previous": the last valid definition is still served; "none": the key is not served. */
  serving: 'previous' | 'none';
}

export type EventSink = (event: ConfigEvent) => void;

/**
 * A source of routing configuration. It only sends events to the sink it was
 * started with; it never reads the routing table.
 */
export interface ConfigSource {
  readonly name: SourceName;
  /** Resolves once the first snapshot was emitted, or rejects if the source cannot start at all. */
  start(sink: EventSink): Promise<void>;
  stop(): Promise<void>;
  status(): SourceStatus;
  /**
   * Read-your-writes barrier. Returns false when the table is already
   * current for `host` (`ready` is then never called). Otherwise returns
   * true and calls `ready` once every change that may affect `host`, made
   * before this call, has been emitted: with `path` (a request's), the
   * changes to the host's path frontends that `path` can match too. A
   * callback, not a promise: this runs for every request. Never waits long
   * on an unreachable source.
   */
  whenCurrent?(host: string, ready: () => void, path?: string): boolean;
  /**
   * Checks now the certificate this source emitted unchecked under `key`
   * (CertificateSpec.checked) and emits, before returning, what it is: the
   * certificate checked, or its removal (quarantined, logged). Called by the
   * first handshake that selects it. A source that emits only checked
   * certificates has none.
   */
  checkCertificate?(key: string): void;
}
