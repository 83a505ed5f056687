// Messages between the master and its workers over the cluster IPC channel.

export type WorkerMessage =
  | { type: 'listening' }
  /** The worker is over its memory limit and has started draining: replace it. */
  | { type: 'over-memory'; rss: number };

export type MasterMessage = { type: 'drain' };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
