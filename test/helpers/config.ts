import path from 'node:path';

export interface HipacheConfigOptions {
  redisUrl: string | string[];
  /** Directory for the access log (access.log). */
  dir: string;
  /** Overrides merged into `server`. */
  server?: Record<string, unknown>;
  /** http.port; allocated by startSwitchyard when omitted. */
  port?: number;
}

/** A Hipache 0.4-style config.json for the tests: one worker, short timeouts. */
export function hipacheConfig(opts: HipacheConfigOptions): Record<string, unknown> {
  return {
    server: {
      workers: 1,
      accessLog: path.join(opts.dir, 'access.log'),
      deadBackendTTL: 30,
      tcpTimeout: 2,
      retryOnError: 3,
      staticDir: null,
      ...opts.server,
    },
    http: { port: opts.port ?? 0, bind: ['127.0.0.1'] },
    driver: Array.isArray(opts.redisUrl) ? opts.redisUrl : [opts.redisUrl],
  };
}
