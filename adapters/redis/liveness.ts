// Whether Redis answers. A request never waits on a Redis that does not: the
// read-your-writes barrier is skipped while it is unresponsive (connection
// lost, or a PING unanswered for a whole interval, as when Redis hangs).

import type { Logger } from '../../src/log.js';
import { withTimeout } from './timeout.js';

export interface Pingable {
  readonly isReady: boolean;
  ping(): Promise<unknown>;
}

export class Liveness {
  #responsive = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: Pingable,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  get responsive(): boolean {
    return this.#responsive;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#check(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Known answering (a resync just read everything) or not (the connection dropped). */
  set(responsive: boolean): void {
    this.#responsive = responsive;
  }

  async #check(): Promise<void> {
    if (!this.conn.isReady) return;
    try {
      await withTimeout(this.conn.ping(), this.intervalMs, 'PING');
      this.#responsive = true;
    } catch (err) {
      if (this.#responsive) this.log.warn('redis is not answering; serving the last known table', { error: (err as Error).message });
      this.#responsive = false;
    }
  }
}
