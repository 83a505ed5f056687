// Helpers for the Redis adapter tests (test/integration/redis-*.test.ts):
// a Switchyard with any driver URL(s) and `redis` options, a node-redis
// client for URLs the shared harness cannot reach (password, db), a raw TCP
// backend for misbehaving answers, and small Hipache-key assertions.
import net from 'node:net';
import { createClient } from '@redis/client';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { hipacheConfig } from './config.js';
import { json, request, type HttpResponse, type RequestOptions } from './http.js';
import type { RedisServer } from './redis.js';
import { startSwitchyard, type Switchyard } from './switchyard.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface ProxyOptions {
  /** One driver URL or the [replica, master] pair. */
  driver: string | string[];
  /** Merged into config.server. */
  server?: Record<string, unknown>;
  /** The config's `redis` section, e.g. { tracking: 'per-request' }. */
  redis?: Record<string, unknown>;
  scope?: CleanupScope;
}

export interface Proxy {
  sy: Switchyard;
  /** A request with the given Host header, on a fresh connection. */
  get(host: string | null, opts?: Omit<RequestOptions, 'port' | 'host'>): Promise<HttpResponse>;
  /** The name of the test backend that answered (x-backend-name), or `<status>` for a proxy answer. */
  who(host: string, opts?: Omit<RequestOptions, 'port' | 'host'>): Promise<string>;
}

export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const dir = tempDir('redis-proxy', opts.scope);
  const config = hipacheConfig({ redisUrl: opts.driver, dir, server: opts.server });
  if (opts.redis !== undefined) config.redis = opts.redis;
  const sy = await startSwitchyard(config, { scope: opts.scope });
  const get: Proxy['get'] = (host, o = {}) => request({ ...o, port: sy.port, address: sy.address, host });
  return {
    sy,
    get,
    who: async (host, o) => nameOf(await get(host, o)),
  };
}

/** The answering backend's name, or e.g. "<502>" when the proxy itself answered. */
export function nameOf(res: HttpResponse): string {
  const name = res.headers['x-backend-name'];
  return typeof name === 'string' ? name : `<${res.status}>`;
}

/** The JSON echo's name, checking the status first. */
export function echoName(res: HttpResponse): string {
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text.slice(0, 200)}`);
  return json<{ name: string }>(res).name;
}

function makeClient(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: () => 50, connectTimeout: 2000 } });
  client.on('error', () => {});
  return client;
}

export type RedisClient = ReturnType<typeof makeClient>;

/** A node-redis client for any URL (password, db); closed at cleanup. */
export async function redisClient(url: string, scope?: CleanupScope): Promise<RedisClient> {
  const client = makeClient(url);
  await client.connect();
  onCleanup(() => client.destroy(), scope);
  return client;
}

/** SMEMBERS dead:<host>, sorted. */
export async function deadMembers(redis: RedisServer, host: string, prefix = ''): Promise<string[]> {
  return (await redis.cmdList('SMEMBERS', `${prefix}dead:${host}`)).sort();
}

/** Waits until the proxy's log contains `text` (the log is shared by master and worker). */
export async function waitForLog(sy: Switchyard, text: string | RegExp, timeoutMs = 5000): Promise<string> {
  const test = (line: string) => (typeof text === 'string' ? line.includes(text) : text.test(line));
  return waitFor(() => sy.logs().split('\n').find(test), { timeoutMs, message: `proxy log line matching ${String(text)}` });
}

/** How many log lines contain `text`. */
export function countLog(sy: Switchyard, text: string): number {
  return sy.logs().split('\n').filter((l) => l.includes(text)).length;
}

export interface RawBackend {
  port: number;
  url: string;
  /** Request heads received, in order. */
  heads: string[];
  close(): Promise<void>;
}

/**
 * A TCP server that reads each request head and hands the socket to
 * `respond`, which writes whatever bytes it likes (truncated or oversized
 * bodies) and closes or keeps the socket.
 */
export async function startRawBackend(respond: (socket: net.Socket, head: string) => void, scope?: CleanupScope): Promise<RawBackend> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('latin1');
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.slice(0, end);
      buffer = buffer.slice(end + 4);
      heads.push(head);
      respond(socket, head);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closing;
  };
  onCleanup(close, scope);
  return { port, url: `http://127.0.0.1:${port}`, heads, close };
}

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** CONFIG GET <name>'s value (node-redis may give the reply as an array or as an object). */
export async function configGet(redis: RedisServer, name: string): Promise<string> {
  const reply = await redis.cmdRaw('CONFIG', 'GET', name);
  if (Array.isArray(reply)) return String(reply[1] ?? '');
  if (reply instanceof Map) return String(reply.get(name) ?? '');
  if (reply !== null && typeof reply === 'object') return String((reply as Record<string, unknown>)[name] ?? '');
  return '';
}

/** Sends one RESP command on a fresh, unauthenticated connection; resolves the first reply line. */
export function rawRedisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('no reply from redis')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (d) => {
      reply += d.toString();
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(reply.slice(0, end));
      }
    });
  });
}
