// A real redis-server plus a Switchyard configured from it: the common setup
// of the HTTP integration tests.
import path from 'node:path';
import type { CleanupScope } from './cleanup.js';
import { hipacheConfig } from './config.js';
import { request, type HttpResponse, type RequestOptions } from './http.js';
import { startRedis, type RedisServer } from './redis.js';
import { startSwitchyard, type StartSwitchyardOptions, type Switchyard } from './switchyard.js';
import { tempDir } from './tmp.js';

export interface Stack {
  redis: RedisServer;
  proxy: Switchyard;
  dir: string;
  accessLog: string;
  /** Replaces frontend:<host> with [identifier, ...backendUrls] (DEL + RPUSH). */
  setFrontend(host: string, identifier: string, ...backendUrls: string[]): Promise<void>;
  /** A request to the proxy with the given Host header. */
  get(host: string | null, opts?: Omit<RequestOptions, 'port' | 'host'>): Promise<HttpResponse>;
}

export interface StackOptions {
  server?: Record<string, unknown>;
  redisArgs?: string[];
  proxy?: StartSwitchyardOptions;
  scope?: CleanupScope;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redis = await startRedis({ args: opts.redisArgs, scope: opts.scope });
  const dir = tempDir('stack', opts.scope);
  const config = hipacheConfig({ redisUrl: redis.url, dir, server: opts.server });
  const proxy = await startSwitchyard(config, { scope: opts.scope, ...opts.proxy });
  return {
    redis,
    proxy,
    dir,
    accessLog: path.join(dir, 'access.log'),
    setFrontend: async (host, identifier, ...backendUrls) => {
      await redis.cmd('DEL', `frontend:${host}`);
      await redis.cmd('RPUSH', `frontend:${host}`, identifier, ...backendUrls);
    },
    get: (host, o = {}) => request({ ...o, port: proxy.port, address: proxy.address, host }),
  };
}
