import type { RequestBody } from '../client.js';
import { sweepFor, type Watched } from '../sweep.js';

/**
 * Watches a request body for a client that stops sending it (SPEC §6: no
 * byte for server.idleTimeout). The clock runs from the moment the request
 * is dispatched, while it waits for a backend connection too: otherwise a
 * hundred stalled uploads queued behind maxSockets would be cut one batch
 * at a time, and every other request to that backend would wait for all of
 * them. A client is stalled only while the proxy would take its bytes: not
 * while the body's buffer is full (the proxy stopped reading, waiting on a
 * backend or a free connection), nor once it is complete.
 */
export class BodyStallWatch implements Watched {
  /** Body bytes the connection has sent on. */
  #consumed = 0;
  /** Bytes consumed and buffered at the last look: any change is progress. */
  #seen = 0;
  #quietSince = performance.now();
  readonly #sweep;

  constructor(
    private readonly body: RequestBody,
    private readonly idleMs: number,
    private readonly onStall: () => void,
  ) {
    this.#sweep = sweepFor(idleMs);
    this.#sweep.add(this);
  }

  /** `n` body bytes were sent on to the backend. */
  moved(n: number): void {
    this.#consumed += n;
  }

  stop(): void {
    this.#sweep.delete(this);
  }

  look(now: number): void {
    const body = this.body;
    const seen = this.#consumed + body.readableLength;
    if (body.complete === true) return this.stop();
    if (seen !== this.#seen || body.readableLength >= body.readableHighWaterMark) {
      this.#seen = seen;
      this.#quietSince = now;
      return;
    }
    if (now - this.#quietSince < this.idleMs) return;
    this.stop();
    this.onStall();
  }
}
