// Messages between the master and its workers over the cluster IPC channel.
// Other modules share the channel (prom-client has its own types): only the
// types below are taken for ours.

import type { PendingChallenge } from '../acme/store.js';
import type { DeadMark, HealthCheckOptions } from '../../src/vocabulary/events.js';

/** What the instance's admin listener (in the master) asks a worker; see app/admin/answers.ts. */
export type WorkerQuery =
  | { kind: 'status' }
  /** The route of a host, and of a request path on it when `path` is given (path frontends, SPEC §9). */
  | { kind: 'route'; host: string | null; path: string | null }
  | { kind: 'frontends' }
  | { kind: 'events'; since: number }
  /** The worker's metrics, as prom-client's getMetricsAsJSON gives them. */
  | { kind: 'metrics' }
  /** Whether every source has delivered its first snapshot. */
  | { kind: 'readiness' }
  /** What the ACME orderer may order for (app/acme/hosts.ts); `issued`: the hosts it ordered before. */
  | { kind: 'acme-hosts'; issued: string[] }
  /** The backends to check (app/health/targets.ts), under server.healthCheck `defaults`; `known`: the frontends version the prober has. */
  | { kind: 'health-targets'; defaults: HealthCheckOptions | null; known: string | null };

/** A worker's answer to an admin query: the HTTP status and JSON body it would answer. */
export interface QueryAnswer {
  status: number;
  body: unknown;
}

export type WorkerMessage =
  | { type: 'listening' }
  /** The worker exits on an error: `failed to start: listen EADDRINUSE: ...`, `uncaught exception: ...`. */
  | { type: 'failed'; cause: string }
  /** The worker is over its memory limit and has started draining: replace it. */
  | { type: 'over-memory'; rss: number }
  | { type: 'answer'; id: number; answer: QueryAnswer }
  /** A draining worker's last metrics, so that the instance's counters never go back when it exits. */
  | { type: 'final-metrics'; metrics: unknown[] }
  /** The worker now answers this ACME challenge: the orderer may let the CA validate it. */
  | { type: 'acme-challenge-held'; token: string };

/** How the last SIGHUP ended. The master owns it; workers only show it. */
export interface ReloadOutcome {
  /** When it was decided (ISO 8601). */
  at: string;
  outcome: 'applied' | 'rolled-back' | 'rejected';
  /** Why it was rolled back or rejected; null when applied. */
  cause: string | null;
  /** The generation the reload started; null when the file was rejected before any started. */
  generation: number | null;
}

/** What the master tells a worker about the instance, for the admin status. */
export interface MasterReport {
  /** The generation the worker belongs to (1 at start-up, one more per reload). */
  generation: number;
  reload: ReloadOutcome | null;
}

export type MasterMessage =
  | ({ type: 'report' } & MasterReport)
  | { type: 'query'; id: number; query: WorkerQuery }
  /** SIGUSR1 reached the master: reopen the access log (logrotate moved it away). */
  | { type: 'reopen-logs' }
  /** An ACME HTTP-01 challenge the master's orderer set (or, null, removed): every worker answers it. */
  | { type: 'acme-challenge'; token: string; challenge: PendingChallenge | null }
  /** The instance's TLS session ticket key (48 bytes, base64), after a rotation or when the worker listens. */
  | { type: 'ticket-key'; key: string }
  /** Dead marks the instance's health checks set (or lift) without Redis: every worker applies them. */
  | { type: 'health-marks'; dead: DeadMark[]; alive: { host: string; index: number }[] };

const WORKER_TYPES = new Set<string>(['listening', 'failed', 'over-memory', 'answer', 'final-metrics', 'acme-challenge-held']);
const MASTER_TYPES = new Set<string>(['report', 'query', 'reopen-logs', 'acme-challenge', 'ticket-key', 'health-marks']);

function typeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return WORKER_TYPES.has(typeOf(value) ?? '');
}

export function isMasterMessage(value: unknown): value is MasterMessage {
  return MASTER_TYPES.has(typeOf(value) ?? '');
}
