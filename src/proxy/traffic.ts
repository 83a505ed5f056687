// What the proxy did in this worker, for /metrics (SPEC §8): plain numbers
// in arrays allocated once, bumped in place on the request path. Nothing
// here knows Prometheus; app/metrics/ turns these into metrics at scrape
// time, so that a request costs a few increments and no label lookup.

import type { ErrorCode } from './failure.js';

/** The methods counted by name; any other is counted as "other". */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'other'] as const;
const OTHER_METHOD = METHODS.length - 1;
/** Statuses 0-599 each have a slot (anything else counts as 0). */
const STATUSES = 600;

/** Upper bounds (seconds) of the request duration histogram's buckets: Prometheus' defaults, from 5 ms to 10 s. */
export const DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The codes counted as switchyard_backend_errors_total{reason}: every attempt failure, and no backend to try. */
export const BACKEND_ERRORS = [
  'CONNECT_REFUSED', 'HOST_UNREACHABLE', 'DNS_FAILURE', 'CONNECT_TIMEOUT', 'TLS_FAILURE', 'CONNECTION_RESET',
  'UPSTREAM_CLOSED', 'HEADERS_TIMEOUT', 'BODY_TIMEOUT', 'RESPONSE_TRUNCATED', 'BAD_RESPONSE', 'POOL_CLOSED',
  'CLIENT_BODY_TIMEOUT', 'CLIENT_READ_TIMEOUT', 'SOCKET_ERROR', 'NO_BACKENDS', 'ALL_BACKENDS_DEAD',
] as const satisfies readonly ErrorCode[];
type BackendErrorCode = (typeof BACKEND_ERRORS)[number];
const ERROR_SLOT = new Map<ErrorCode, number>(BACKEND_ERRORS.map((code, i) => [code, i]));

export type Protocol = 'http' | 'https' | 'websocket';

/** Requests by method and status, and how long they took: for all hosts, or one labelled host. */
export class RequestCounts {
  /** Slot `method * STATUSES + status`. */
  readonly byMethodStatus = new Float64Array(METHODS.length * STATUSES);
  /** Per bucket of DURATION_BOUNDS (not cumulative), the last slot for longer ones. */
  readonly durationBuckets = new Float64Array(DURATION_BOUNDS.length + 1);
  durationSum = 0;
  durationCount = 0;

  record(method: string | undefined, status: number, seconds: number): void {
    const m = methodSlot(method);
    const s = status >= 0 && status < STATUSES ? status : 0;
    this.byMethodStatus[m * STATUSES + s]!++;
    let b = 0;
    while (b < DURATION_BOUNDS.length && seconds > DURATION_BOUNDS[b]!) b++;
    this.durationBuckets[b]!++;
    this.durationSum += seconds;
    this.durationCount++;
  }

  /** Requests answered with a status in [from, to), over every method. */
  statuses(from: number, to: number): number {
    let n = 0;
    for (let m = 0; m < METHODS.length; m++) for (let s = from; s < to; s++) n += this.byMethodStatus[m * STATUSES + s]!;
    return n;
  }

  /** Each method and status counted so far, with its count. */
  *counted(): Generator<{ method: string; code: string; count: number }> {
    const counts = this.byMethodStatus;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] !== 0) yield { method: METHODS[Math.floor(i / STATUSES)]!, code: String(i % STATUSES), count: counts[i]! };
    }
  }
}

function methodSlot(method: string | undefined): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'CONNECT': return 7;
    case 'TRACE': return 8;
    default: return OTHER_METHOD;
  }
}

/** What a worker counted since it started: requests seen to their end, those answered 5xx, failed backend attempts, retries. */
export interface TrafficSummary {
  requests: number;
  status5xx: number;
  backendErrors: number;
  retries: number;
}

/** Everything counted in one worker. */
export class TrafficCounters {
  readonly requests = new RequestCounts();
  /** metrics.hosts: the counts of each labelled host (or pattern), by its label. */
  readonly hosts = new Map<string, RequestCounts>();
  readonly backendErrors = new Float64Array(BACKEND_ERRORS.length);
  retries = 0;
  /** Client connections open now, by what they speak (a WebSocket tunnel counts once as websocket). */
  readonly open: Record<Protocol, number> = { http: 0, https: 0, websocket: 0 };

  /** One request ended: `status` 499 when the client left before an answer (as nginx logs it). */
  requestDone(method: string | undefined, status: number, seconds: number, host: string | null, labels: HostLabels | null): void {
    const label = labels === null || host === null ? null : labels.labelOf(host);
    (label === null ? this.requests : this.#labelled(label)).record(method, status, seconds);
  }

  #labelled(label: string): RequestCounts {
    let counts = this.hosts.get(label);
    if (counts === undefined) this.hosts.set(label, (counts = new RequestCounts()));
    return counts;
  }

  /** Totals, for the admin status (a rate is the difference between two of them). */
  summary(): TrafficSummary {
    let requests = 0;
    let status5xx = 0;
    for (const counts of [this.requests, ...this.hosts.values()]) {
      requests += counts.durationCount;
      status5xx += counts.statuses(500, 600);
    }
    const backendErrors = this.backendErrors.reduce((n, count) => n + count, 0);
    return { requests, status5xx, backendErrors, retries: this.retries };
  }

  backendError(code: ErrorCode): void {
    const slot = ERROR_SLOT.get(code);
    if (slot !== undefined) this.backendErrors[slot]!++;
  }

  *backendErrorsCounted(): Generator<{ reason: Lowercase<BackendErrorCode>; count: number }> {
    for (let i = 0; i < BACKEND_ERRORS.length; i++) {
      if (this.backendErrors[i] !== 0) yield { reason: BACKEND_ERRORS[i]!.toLowerCase() as Lowercase<BackendErrorCode>, count: this.backendErrors[i]! };
    }
  }
}

/** Most hosts remembered with their label (or none); past it the memory starts over. */
const LABEL_CACHE_SIZE = 10_000;

/**
 * metrics.hosts: which requests get a `host` label. An entry is a host
 * ("api.example.com") or a pattern ("*.example.com": any name under it); the
 * label is the entry as written, so a pattern is one series however many
 * names it covers.
 */
export class HostLabels {
  readonly #exact: Set<string>;
  /** [".example.com", "*.example.com"], longest first: the most specific pattern labels. */
  readonly #patterns: [string, string][];
  readonly #cache = new Map<string, string | null>();

  constructor(entries: readonly string[]) {
    this.#exact = new Set(entries.filter((e) => !e.startsWith('*')));
    this.#patterns = entries
      .filter((e) => e.startsWith('*.'))
      .map((e): [string, string] => [e.slice(1), e])
      .sort((a, b) => b[0].length - a[0].length);
  }

  labelOf(host: string): string | null {
    let label = this.#cache.get(host);
    if (label !== undefined) return label;
    label = this.#exact.has(host) ? host : (this.#patterns.find(([suffix]) => host.endsWith(suffix))?.[1] ?? null);
    if (this.#cache.size >= LABEL_CACHE_SIZE) this.#cache.clear();
    this.#cache.set(host, label);
    return label;
  }
}
