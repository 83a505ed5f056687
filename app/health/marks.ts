// Where the prober's verdicts go: Redis dead marks shared by every instance
// (redis-store.ts), or the workers of this instance over IPC (local-marks.ts).

import type { HealthTarget } from './targets.js';

/** Whether this process checks a backend now: it just took the turn from nobody ("taken"), kept its own ("kept"), or another holds it (null). */
export type Claim = 'taken' | 'kept' | null;

export interface HealthMarks {
  /** Claims the next check of `id` for this process for `ttlMs`: one prober per backend across instances. */
  claim(id: string, ttlMs: number): Promise<Claim>;
  /** Whether the backend's first mark is in force now (another prober's, before this one took over). */
  marked(target: HealthTarget): Promise<boolean>;
  /** Marks the backend dead for every frontend using it, for `ttlMs`; called at each failing check, it keeps the mark alive. */
  mark(target: HealthTarget, ttlMs: number): Promise<void>;
  /** Removes its marks: it passed `healthyAfter` checks in a row. */
  revive(target: HealthTarget): Promise<void>;
  close(): Promise<void>;
}
