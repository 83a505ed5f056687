// Messages between the master and its workers over the cluster IPC channel.

export type WorkerMessage =
  | { type: 'listening' }
  /** The worker exits on an error: `failed to start: listen EADDRINUSE: ...`, `uncaught exception: ...`. */
  | { type: 'failed'; cause: string }
  /** The worker is over its memory limit and has started draining: replace it. */
  | { type: 'over-memory'; rss: number };

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
  /** SIGUSR1 reached the master: reopen the access log (logrotate moved it away). */
  | { type: 'reopen-logs' };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

export function isMasterMessage(value: unknown): value is MasterMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'report' || type === 'reopen-logs';
}
