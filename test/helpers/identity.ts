// Shared by the client-identity tests (SPEC §6): proxies with their own
// server.trustedProxies and proxyProtocol on one redis-server, a raw backend
// that keeps the exact request heads it receives, and the lines of a head
// that tell a backend who the client is.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { countedBackend, type Counted } from './backends.js';
import type { CleanupScope } from './cleanup.js';
import { hipacheConfig } from './config.js';
import type { RedisServer } from './redis.js';
import { startSwitchyard, type StartSwitchyardOptions, type Switchyard } from './switchyard.js';
import { tempDir } from './tmp.js';

export interface IdentityProxy {
  proxy: Switchyard;
  port: number;
  accessLog: string;
}

/** A proxy reading `redis`, with `server` merged into the test defaults and `http`/`https` sections as given. */
export async function identityProxy(
  redis: RedisServer,
  o: { server?: Record<string, unknown>; http?: Record<string, unknown>; https?: Record<string, unknown>; start?: StartSwitchyardOptions; scope?: CleanupScope },
): Promise<IdentityProxy> {
  const dir = tempDir('identity', o.scope);
  const config = hipacheConfig({ redisUrl: redis.url, dir, server: o.server });
  config.http = { ...(config.http as object), ...o.http };
  if (o.https !== undefined) config.https = o.https;
  const proxy = await startSwitchyard(config, { scope: o.scope, ...o.start });
  return { proxy, port: proxy.port, accessLog: path.join(dir, 'access.log') };
}

/** A raw backend answering every request 200 `ok`; `heads` holds each request head exactly as it arrived. */
export function headsBackend(): Promise<Counted> {
  return countedBackend((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
}

/** The header lines of a request head that say who the client is (X-Forwarded-*, X-Real-IP, Forwarded), in order, as sent. */
export function identityLines(head: string | undefined): string[] {
  return (head ?? '').split('\r\n').slice(1).filter((line) => /^(x-forwarded-[^:]*|x-real-ip|forwarded):/i.test(line));
}

/** The proxy's own lines for a client at `address` on a plain-HTTP listener on `port`. */
export function proxyOwnLines(address: string, port: number, scheme = 'http'): string[] {
  return [`X-Forwarded-For: ${address}`, `X-Real-IP: ${address}`, `X-Forwarded-Proto: ${scheme}`, `X-Forwarded-Protocol: ${scheme}`, `X-Forwarded-Port: ${port}`];
}

/** What a client may claim about itself: every header a backend could take for the client's identity. */
export const CLAIMS = [
  'X-Forwarded-For: 198.51.100.1',
  'X-Real-IP: 198.51.100.2',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Protocol: https',
  'X-Forwarded-Port: 443',
  'X-Forwarded-Host: evil.example',
  'Forwarded: for=198.51.100.3',
];

/** A GET for `host` with `extra` header lines, ready to write on a socket. */
export function getRequest(host: string, extra: string[] = [], path = '/'): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra.map((l) => `${l}\r\n`).join('')}\r\n`;
}

export function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
