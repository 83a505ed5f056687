// What a worker says when it finds a backend failing (passive health): it
// marks the backend dead in its own table at once, and hands the report to
// whatever shares dead marks between instances (Redis, as Hipache did).

export interface DeadMarkReport {
  /**
   * The requested host (port stripped), so a wildcard frontend gets one dead set per host;
   * for a path frontend, followed by its prefix ("www.x/api": `dead:www.x/api`).
   */
  host: string;
  index: number;
  backendUrl: string;
  backendCount: number;
}

/** Where a worker's dead marks go beyond its own table. Fire and forget: a request never waits on it. */
export interface DeadMarkPublisher {
  publish(report: DeadMarkReport): void;
  close(): Promise<void>;
}
