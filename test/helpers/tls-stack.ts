// A real redis-server plus a Switchyard listening on HTTP and on HTTPS (a
// self-signed certificate made at test time): for the HTTPS and wss:// tests.
import type { CleanupScope } from './cleanup.js';
import { hipacheConfig } from './config.js';
import { freePort } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';
import { startSwitchyard, type Switchyard } from './switchyard.js';
import { selfSignedCert, type SelfSigned } from './tls.js';
import { tempDir } from './tmp.js';

export interface TlsStack {
  redis: RedisServer;
  proxy: Switchyard;
  /** The HTTP listener's port (proxy.port). */
  httpPort: number;
  httpsPort: number;
  tls: SelfSigned;
  /** Replaces frontend:<host> with [identifier, ...backendUrls]. */
  setFrontend(host: string, identifier: string, ...backendUrls: string[]): Promise<void>;
}

export interface TlsStackOptions {
  server?: Record<string, unknown>;
  scope?: CleanupScope;
}

export async function startTlsStack(opts: TlsStackOptions = {}): Promise<TlsStack> {
  const redis = await startRedis({ scope: opts.scope });
  const dir = tempDir('tls-stack', opts.scope);
  const tls = selfSignedCert(opts.scope);
  const httpsPort = await freePort();
  const config = {
    ...hipacheConfig({ redisUrl: redis.url, dir, server: opts.server }),
    https: { port: httpsPort, bind: ['127.0.0.1'], key: tls.key, cert: tls.cert },
  };
  const proxy = await startSwitchyard(config, { scope: opts.scope });
  return {
    redis,
    proxy,
    httpPort: proxy.port,
    httpsPort,
    tls,
    setFrontend: async (host, identifier, ...backendUrls) => {
      await redis.cmd('DEL', `frontend:${host}`);
      await redis.cmd('RPUSH', `frontend:${host}`, identifier, ...backendUrls);
    },
  };
}
