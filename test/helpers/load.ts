// Requests sent in a loop while something happens to the proxy (a worker is
// killed, the config reloaded), each outcome timestamped so a test can say
// which failures are acceptable (in flight at the time of a kill) and which are not.
import { onCleanup, type CleanupScope } from './cleanup.js';
import type { HttpResponse } from './http.js';

export interface Outcome {
  startedAt: number;
  endedAt: number;
  /** The status, or 0 when the request failed at the connection level. */
  status: number;
  error?: string;
}

export interface Load {
  outcomes: Outcome[];
  /** Stops sending, waits for the requests in flight, returns every outcome. */
  stop(): Promise<Outcome[]>;
}

export interface LoadOptions {
  concurrency?: number;
  /** Stopped at the end of this test even when it fails before calling stop(). */
  scope?: CleanupScope;
  /** A safety net: the loops end on their own after this long (60 s). */
  maxDurationMs?: number;
}

/** Runs `send` back to back on `concurrency` loops until stopped. */
export function startLoad(send: () => Promise<HttpResponse>, opts: LoadOptions = {}): Load {
  const { concurrency = 2, maxDurationMs = 60_000 } = opts;
  const outcomes: Outcome[] = [];
  const endAt = Date.now() + maxDurationMs;
  let running = true;
  const loop = async (): Promise<void> => {
    while (running && Date.now() < endAt) {
      const startedAt = Date.now();
      try {
        const res = await send();
        outcomes.push({ startedAt, endedAt: Date.now(), status: res.status });
      } catch (err) {
        outcomes.push({ startedAt, endedAt: Date.now(), status: 0, error: (err as NodeJS.ErrnoException).code ?? String(err) });
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  const stop = async (): Promise<Outcome[]> => {
    running = false;
    await Promise.all(loops);
    return outcomes;
  };
  onCleanup(stop, opts.scope);
  return { outcomes, stop };
}

/** Outcomes that are not a 200, for assertion messages. */
export function failures(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.status !== 200);
}
