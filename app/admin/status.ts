import type { Worker } from 'node:cluster';
import { byHostThenIndex } from '../../src/routing/table.js';
import type { QueryAnswer, ReloadOutcome } from '../workers/messages.js';
import { DEAD_MARKS_LISTED, type WorkerStatus } from './answers.js';

/** What the master knows of the instance itself. */
export interface InstanceSummary {
  pid: number;
  startedAt: string;
  /** The serving generation, and the one a reload has on probation beside it (or null). */
  generation: number;
  probation: number | null;
  reload: ReloadOutcome | null;
  /** server.workers of the serving generation. */
  workers: number;
  /** SIGTERM received: the workers drain. */
  draining: boolean;
}

/** Numbers that add up over workers (a worker's front or limits counters). */
function addUp<T extends object>(parts: T[]): T | null {
  if (parts.length === 0) return null;
  const total = { ...parts[0]! } as Record<string, unknown>;
  for (const part of parts.slice(1)) {
    for (const [key, value] of Object.entries(part)) {
      const sum = total[key];
      if (typeof value === 'number' && typeof sum === 'number') total[key] = sum + value;
      else if (typeof value === 'boolean' && typeof sum === 'boolean') total[key] = sum || value;
    }
  }
  return total as T;
}

type DeadMark = WorkerStatus['deadBackends']['marks'][number];

/**
 * Every worker's dead marks as one list: without Redis each worker marks its
 * own, so a mark is listed once with the workers that hold it (the latest
 * `until`). `count` is the most any worker holds, as switchyard_dead_backends.
 */
function mergeDeadBackends(statuses: WorkerStatus[]) {
  const merged = new Map<string, DeadMark & { workers: string[] }>();
  for (const status of statuses) {
    for (const mark of status.deadBackends.marks) {
      const id = `${mark.index} ${mark.host}`;
      const seen = merged.get(id);
      if (seen === undefined) merged.set(id, { ...mark, workers: [status.worker] });
      else {
        seen.workers.push(status.worker);
        if (mark.until > seen.until) seen.until = mark.until;
      }
    }
  }
  const marks = [...merged.values()].sort(byHostThenIndex).slice(0, DEAD_MARKS_LISTED);
  return { count: Math.max(0, ...statuses.map((s) => s.deadBackends.count)), marks };
}

/**
 * The instance's /status: its own state, every serving worker's (workers can
 * differ for a moment: a change reaches each at its own pace), and the
 * table and sources as the oldest worker has them. Counters are summed over
 * workers; `limits.maxConnections` is per worker.
 */
export function mergeStatus(summary: InstanceSummary, precedence: string, workers: Worker[], answers: (QueryAnswer | null)[]) {
  const statuses = answers.flatMap((a) => (a === null ? [] : [a.body as WorkerStatus]));
  const silent = workers.filter((_, i) => answers[i] === null).map((w) => w.id);
  const first = statuses[0];
  const limits = addUp(statuses.map((s) => s.limits));
  if (limits !== null && first !== undefined) limits.maxConnections = first.limits.maxConnections;
  return {
    instance: { pid: summary.pid, startedAt: summary.startedAt, draining: summary.draining, workers: summary.workers },
    generation: summary.generation,
    probation: summary.probation,
    reload: summary.reload,
    precedence,
    loaded: statuses.length > 0 && statuses.every((s) => s.loaded),
    table: first?.table ?? null,
    sources: first?.sources ?? [],
    certificates: first?.certificates ?? [],
    certificateCounts: first?.certificateCounts ?? {},
    deadBackends: mergeDeadBackends(statuses),
    traffic: addUp(statuses.map((s) => s.traffic)),
    front: addUp(statuses.map((s) => s.front)),
    limits,
    // Each worker's dead marks are in the merged list above: its own entry keeps the count.
    // Certificates are the same in every worker: listed once, above.
    workers: statuses.map(({ deadBackends, certificates, certificateCounts, ...own }) => ({ ...own, deadBackends: deadBackends.count })),
    /** Workers that did not answer in time (ids). */
    silent,
  };
}
