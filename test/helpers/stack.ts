// A real redis-server plus a Switchyard configured from it: the common setup
// of the HTTP integration tests.
import path from 'node:path';
import type { CleanupScope } from './cleanup.js';
import { hipacheConfig } from './config.js';
import { adminReady } from './front.js';
import { request, type HttpResponse, type RequestOptions } from './http.js';
import { freePort } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';
import { startSwitchyard, type StartSwitchyardOptions, type Switchyard } from './switchyard.js';
import { tempDir } from './tmp.js';

export interface Stack {
  redis: RedisServer;
  proxy: Switchyard;
  dir: string;
  accessLog: string;
  /** The admin API's port (with `admin: true`), e.g. to see which front end served (helpers/front.ts). */
  adminPort?: number;
  /** Replaces frontend:<host> with [identifier, ...backendUrls] (DEL + RPUSH). */
  setFrontend(host: string, identifier: string, ...backendUrls: string[]): Promise<void>;
  /** A request to the proxy with the given Host header. */
  get(host: string | null, opts?: Omit<RequestOptions, 'port' | 'host'>): Promise<HttpResponse>;
}

export interface StackOptions {
  server?: Record<string, unknown>;
  redisArgs?: string[];
  proxy?: StartSwitchyardOptions;
  /** Start the admin API too. */
  admin?: boolean;
  scope?: CleanupScope;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redis = await startRedis({ args: opts.redisArgs, scope: opts.scope });
  const dir = tempDir('stack', opts.scope);
  const config = hipacheConfig({ redisUrl: redis.url, dir, server: opts.server });
  const adminPort = opts.admin ? await freePort() : undefined;
  if (adminPort !== undefined) config.admin = { port: adminPort };
  const proxy = await startSwitchyard(config, { scope: opts.scope, ...opts.proxy });
  if (adminPort !== undefined) await adminReady(adminPort);
  return {
    redis,
    proxy,
    dir,
    accessLog: path.join(dir, 'access.log'),
    adminPort,
    setFrontend: async (host, identifier, ...backendUrls) => {
      await redis.cmd('DEL', `frontend:${host}`);
      await redis.cmd('RPUSH', `frontend:${host}`, identifier, ...backendUrls);
    },
    get: (host, o = {}) => request({ ...o, port: proxy.port, address: proxy.address, host }),
  };
}
