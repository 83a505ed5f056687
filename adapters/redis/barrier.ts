// The read-your-writes barrier: "every change notification Redis produced
// before now has been handled". Redis answers a PING on the notification
// connection only after every notification it queued there before, so once
// the PONG is back, any change a client made before sending us its request
// is known (and its re-read registered).

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Shares PINGs between requests: all requests that arrive before a PING is
 * issued wait for that one, and at most one PING is on the wire at a time
 * (requests arriving meanwhile wait for the next, issued when it returns).
 * Under load this is one PING per Redis round trip, not one per request.
 * Never rejects; a PING slower than `timeoutMs` releases its waiters (a hung
 * Redis must not hold requests).
 */
export class PingBarrier {
  #open: Batch | null = null;
  #inFlight = false;

  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly timeoutMs: number,
  ) {}

  wait(): Promise<void> {
    if (this.#open === null) {
      this.#open = newBatch();
      if (!this.#inFlight) this.#issue(this.#open);
    }
    return this.#open.promise;
  }

  #issue(batch: Batch): void {
    this.#inFlight = true;
    // Requests of this event-loop turn join the batch; the PING leaves after them.
    setImmediate(() => {
      if (this.#open === batch) this.#open = null;
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        batch.resolve();
        this.#inFlight = false;
        if (this.#open !== null) this.#issue(this.#open);
      };
      const timer = setTimeout(done, this.timeoutMs);
      this.ping().then(done, done);
    });
  }
}
