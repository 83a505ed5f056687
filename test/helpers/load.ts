// Requests sent in a loop while something happens to the proxy (a worker is
// killed, the config reloaded), each outcome timestamped so a test can say
// which failures are acceptable (in flight at the time of a kill) and which are not.
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

/** Runs `send` back to back on `concurrency` loops until stopped. */
export function startLoad(send: () => Promise<HttpResponse>, concurrency = 2): Load {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
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
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** Outcomes that are not a 200, for assertion messages. */
export function failures(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.status !== 200);
}
