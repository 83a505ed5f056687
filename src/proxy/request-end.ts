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
  /** performance.now() when a tunnel's 101 was relayed: its request ends there, not with the tunnel. -1: none. */
  answered = -1;

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
    const ctx = this.ctx;
    const end = this.answered >= 0 ? this.answered : performance.now();
    ctx.traffic.requestDone(this.req.method, this.status, (end - this.started) / 1000, this.host, ctx.hostLabels);
    ctx.accessLog?.write(this);
  }
}
