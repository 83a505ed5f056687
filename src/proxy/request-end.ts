import type { ErrorCode } from './failure.js';
import type { RequestLine, RequestOutcome } from './outcome.js';
import type { ProxyContext } from './settings.js';

/**
 * What a request (request.ts's Client) or an upgrade (upgrade-client.ts's
 * UpgradeClient) keeps of itself for its end: plain fields on the object
 * that carries it, set where each fact is learnt, so nothing more is
 * allocated per request. Its end is told in one place, `ended()`.
 */
export abstract class RequestRecord implements RequestOutcome {
  readonly started = performance.now();
  /** 0 until answered. */
  status = 0;
  bytes = 0;
  host: string | null = null;
  frontend: string | null = null;
  backend: string | null = null;
  upstreamStarted = -1;
  upstreamEnded = -1;
  retries = 0;
  error: ErrorCode | null = null;
  bytesIn = -1;
  bytesOut = -1;
  #counted = false;

  constructor(
    protected readonly ctx: ProxyContext,
    readonly req: RequestLine,
    readonly remoteAddress: string,
    readonly requestId: string,
  ) {}

  /**
   * Called once, from the request's single 'close' listener, after every
   * fact is set: what reports on requests (the access log; metrics) reads
   * them here, and nowhere else.
   */
  protected ended(): void {
    this.count();
    this.ctx.accessLog?.write(this);
  }

  /**
   * Counted for /metrics, once: a request at its end; a WebSocket upgrade as
   * soon as its 101 is relayed (a tunnel's life is not a request's duration,
   * and an open tunnel is a request served).
   */
  protected count(): void {
    if (this.#counted) return;
    this.#counted = true;
    const ctx = this.ctx;
    ctx.traffic.requestDone(this.req.method, this.status, (performance.now() - this.started) / 1000, this.host, ctx.hostLabels);
  }
}
