// The read-your-writes barrier: "every change notification Redis produced
// before now has been handled". Redis answers a PING on the notification
// connection only after every notification it queued there before, so once
// the PONG is back, any change a client made before sending us its request
// is known (and its re-read registered).

/** The requests waiting for one PING: callbacks, not promises, as this runs per request. */
type Batch = (() => void)[];

/** Time as the barrier's watchdog reads it; tests give their own. */
export interface WatchdogClock {
  now(): number;
  /** Calls `tick` every `ms` without keeping the process alive. */
  every(tick: () => void, ms: number): void;
}

const realClock: WatchdogClock = {
  now: Date.now,
  every: (tick, ms) => void setInterval(tick, ms).unref(),
};

/**
 * Shares PINGs between requests: a request finding no PING on the wire sends
 * one at once (no extra event-loop turn at low load); at most one PING is on
 * the wire at a time, and requests arriving meanwhile wait together for the
 * next, issued when it returns.
 * Under load this is one PING per Redis round trip, not one per request.
 * A PING slower than `timeoutMs` releases its waiters (a hung Redis must not
 * hold requests).
 */
export class PingBarrier {
  #open: Batch | null = null;
  #inFlight = false;
  /** The PING on the wire: when it left and how to release its batch. */
  #pending: { sentAt: number; release: () => void } | null = null;
  #watching = false;

  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly timeoutMs: number,
    private readonly clock: WatchdogClock = realClock,
  ) {}

  /** Calls `done` once a PING issued after this call has been answered (or timed out). */
  then(done: () => void): void {
    if (!this.#inFlight) return this.#issue([done]);
    (this.#open ??= []).push(done);
  }

  /** One timer for all PINGs (a timer per PING costs more than the PING's share of a request). */
  #watch(release: () => void): void {
    this.#pending = { sentAt: this.clock.now(), release };
    if (this.#watching) return;
    this.#watching = true;
    this.clock.every(() => {
      const pending = this.#pending;
      if (pending !== null && this.clock.now() - pending.sentAt >= this.timeoutMs) pending.release();
    }, Math.max(10, Math.min(100, this.timeoutMs / 2)));
  }

  #issue(batch: Batch): void {
    this.#inFlight = true;
    let settled = false;
    const answered = () => {
      if (settled) return;
      settled = true;
      this.#pending = null;
      this.#inFlight = false;
      const next = this.#open;
      this.#open = null;
      if (next !== null) this.#issue(next);
      for (const done of batch) {
        try {
          done();
        } catch (err) {
          // One request's failure must not strand the others of the batch.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    };
    this.#watch(answered);
    // Sent at once: a request that arrives after this call waits for the next PING, whenever this one reaches the wire.
    this.ping().then(answered, answered);
  }
}
