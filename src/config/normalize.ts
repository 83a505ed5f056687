// Maps a schema-valid config file, whichever Hipache generation it is written
// in, onto the one canonical SwitchyardConfig, filling in the defaults. The
// checks that a JSON Schema cannot express (a key of one generation combined
// with its replacement from the other, a bad driver URL) are made here, and
// every problem is collected before throwing, like schema errors are.

import { resolve } from 'node:path';
import type { AcmeSection, ConfigFile, SentinelSection, ServerSection } from '../../schema/config.schema.js';
import { ConfigError, problem } from './errors.js';
import { checkHostPort, checkRedisUrl, DEFAULT_SENTINEL_PORT, redisEndpoint } from './redis-url.js';
import { DEFAULT_TRUSTED_PROXIES, parseTrustEntry, TRUST_ENTRY_EXPECTED } from './trusted-proxies.js';
import type {
  AcmeConfig,
  AdminConfig,
  FileSourceConfig,
  HttpsListenConfig,
  TlsVersion,
  ListenConfig,
  RedisEndpoint,
  RedisSourceConfig,
  RedisSourceOptions,
  SentinelConfig,
  SentinelNode,
  ServerConfig,
  SwitchyardConfig,
} from './types.js';

export interface NormalizeOptions {
  /** The config file, used in problem messages and kept as `origin`. */
  origin: string | null;
  /** Relative paths in the file are resolved against this (its directory). */
  baseDir: string;
}

interface Context {
  report(pointer: string, reason: string): void;
  path(p: string): string;
}

export const DEFAULT_HTTP_PORT = 80;
export const DEFAULT_HTTPS_PORT = 443;
/** Seconds a session ticket key is used before the next replaces it (12 h). */
export const DEFAULT_TICKET_KEY_ROTATION = 43_200;
export const DEFAULT_BIND = ['0.0.0.0'];
export const DEFAULT_SYNC_TIMEOUT_MS = 250;

const LEGACY_HTTP_KEYS = ['port', 'address', 'address6'] as const;
const LEGACY_REDIS_KEYS = ['redisHost', 'redisPort', 'redisDatabase', 'redisPassword'] as const;
const LEGACY_MASTER_KEYS = ['redisMasterHost', 'redisMasterPort', 'redisMasterPassword', 'redisMasterDatabase'] as const;

export function normalizeConfig(raw: ConfigFile, opts: NormalizeOptions): SwitchyardConfig {
  const problems: string[] = [];
  const ctx: Context = {
    report: (pointer, reason) => problems.push(problem(opts.origin, pointer, reason)),
    path: (p) => resolve(opts.baseDir, p),
  };
  const https = normalizeHttps(raw, ctx);
  const http = normalizeHttp(raw, https !== null, ctx);
  if (http === null && https === null && problems.length === 0) {
    ctx.report('/', 'no listener: enable "http" or "https" (an empty "bind" disables one)');
  }
  // HTTP-01 is validated on port 80 of the host: the proxy answers it on its HTTP listener.
  if (https?.acme != null && http === null) ctx.report('/https/acme', 'needs the HTTP listener: the ACME server validates HTTP-01 challenges on it');
  const config: SwitchyardConfig = {
    server: normalizeServer(raw.server ?? {}, ctx),
    http,
    https,
    redis: normalizeRedis(raw, ctx),
    file: raw.file ? normalizeFile(raw.file, ctx) : null,
    precedence: raw.precedence ?? 'redis',
    admin: raw.admin ? normalizeAdmin(raw.admin, ctx) : null,
    metrics: { hosts: (raw.metrics?.hosts ?? []).map((h) => h.toLowerCase()) },
    user: raw.user ?? null,
    origin: opts.origin,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function normalizeAdmin(admin: NonNullable<ConfigFile['admin']>, ctx: Context): AdminConfig {
  const bind = admin.bind ?? '127.0.0.1';
  if (!LOOPBACK.test(bind) && admin.token === undefined) {
    ctx.report('/admin/token', `is required when the admin API listens beyond loopback (bind "${bind}")`);
  }
  return { port: admin.port, bind, token: admin.token ?? null };
}

function normalizeFile(file: NonNullable<ConfigFile['file']>, ctx: Context): FileSourceConfig {
  const config: FileSourceConfig = { path: ctx.path(file.path) };
  if (file.pollInterval !== undefined) config.pollIntervalMs = file.pollInterval * 1000;
  return config;
}

function normalizeServer(s: ServerSection, ctx: Context): ServerConfig {
  return {
    // "-" is standard output, not a file named "-" beside the config.
    accessLog: s.accessLog == null ? null : s.accessLog === '-' ? '-' : ctx.path(s.accessLog),
    accessLogFormat: s.accessLogFormat ?? 'combined',
    logFormat: s.logFormat ?? 'text',
    workers: s.workers ?? 1,
    maxSockets: s.maxSockets ?? 100,
    tcpTimeout: s.tcpTimeout ?? 30,
    deadBackendTTL: s.deadBackendTTL ?? 30,
    retryOnError: s.retryOnError ?? 3,
    deadBackendOn500: s.deadBackendOn500 ?? true,
    httpKeepAlive: s.httpKeepAlive ?? true,
    staticDir: s.staticDir == null ? null : ctx.path(s.staticDir),
    debug: s.debug ?? false,
    headersTimeout: s.headersTimeout ?? 10,
    // nginx's 75: longer than the usual load balancer's 60, so that the balancer closes first.
    keepAliveTimeout: s.keepAliveTimeout ?? 75,
    idleTimeout: s.idleTimeout ?? 60,
    websocketIdleTimeout: s.websocketIdleTimeout ?? null,
    maxConnections: s.maxConnections ?? 0,
    workerMemoryLimitMiB: s.workerMemoryLimit ?? 512,
    memoryCheckInterval: s.memoryCheckInterval ?? 10,
    drainTimeout: s.drainTimeout ?? 30,
    trustedProxies: trustedProxies(s.trustedProxies, ctx),
    reloadTimeout: s.reloadTimeout ?? 10,
    shutdownDelay: s.shutdownDelay ?? 0,
    healthCheck: s.healthCheck === undefined || s.healthCheck === false ? null : { ...s.healthCheck },
  };
}

function trustedProxies(entries: string[] | undefined, ctx: Context): string[] {
  if (entries === undefined) return [...DEFAULT_TRUSTED_PROXIES];
  entries.forEach((entry, i) => {
    if (parseTrustEntry(entry) === null) ctx.report(`/server/trustedProxies/${i}`, `${TRUST_ENTRY_EXPECTED} (got ${JSON.stringify(entry)})`);
  });
  return [...entries];
}

function normalizeHttp(raw: ConfigFile, httpsEnabled: boolean, ctx: Context): ListenConfig | null {
  const server = raw.server ?? {};
  const legacy = LEGACY_HTTP_KEYS.filter((k) => server[k] !== undefined);
  if (raw.http !== undefined) {
    for (const k of legacy) ctx.report(`/server/${k}`, 'cannot be combined with "http" (use http.port and http.bind)');
    return raw.http === null ? null : listener(raw.http.port ?? DEFAULT_HTTP_PORT, raw.http.bind, raw.http.proxyProtocol);
  }
  // Pre-0.4 Hipache always served HTTP (port 80 by default), next to HTTPS if any;
  // otherwise HTTP is the fallback when no HTTPS listener is configured.
  if (legacy.length > 0 || server.https !== undefined || !httpsEnabled) {
    return listener(server.port ?? DEFAULT_HTTP_PORT, legacyBind(server));
  }
  return null;
}

function normalizeHttps(raw: ConfigFile, ctx: Context): HttpsListenConfig | null {
  const legacy = raw.server?.https;
  if (raw.https != null) {
    if (legacy !== undefined) ctx.report('/server/https', 'cannot be combined with "https"');
    return tlsListener('/https', listener(raw.https.port ?? DEFAULT_HTTPS_PORT, raw.https.bind, raw.https.proxyProtocol), raw.https, ctx);
  }
  if (legacy !== undefined) {
    // Pre-0.4 HTTPS listened on the same addresses as HTTP.
    const bind = legacyBind(raw.server ?? {});
    return tlsListener('/server/https', listener(legacy.port ?? DEFAULT_HTTPS_PORT, bind), legacy, ctx);
  }
  return null;
}

function tlsListener(
  pointer: string,
  listen: ListenConfig | null,
  tls: {
    key?: string | undefined;
    cert?: string | undefined;
    ca?: string | string[] | undefined;
    certDir?: string | undefined;
    ciphers?: string | undefined;
    minVersion?: TlsVersion | undefined;
    ticketKeyRotation?: number | undefined;
    acme?: AcmeSection | undefined;
  },
  ctx: Context,
): HttpsListenConfig | null {
  if (listen === null) return null;
  if (!tls.key) ctx.report(`${pointer}/key`, 'is required when HTTPS is enabled');
  if (!tls.cert) ctx.report(`${pointer}/cert`, 'is required when HTTPS is enabled');
  if (!tls.key || !tls.cert) return null;
  const https: HttpsListenConfig = {
    ...listen,
    key: ctx.path(tls.key),
    cert: ctx.path(tls.cert),
    certDir: tls.certDir === undefined ? null : ctx.path(tls.certDir),
    ciphers: tls.ciphers ?? null,
    minVersion: tls.minVersion ?? 'TLSv1.2',
    ticketKeyRotationMs: (tls.ticketKeyRotation ?? DEFAULT_TICKET_KEY_ROTATION) * 1000,
    acme: tls.acme === undefined ? null : normalizeAcme(tls.acme, ctx),
  };
  if (tls.ca !== undefined) https.ca = toList(tls.ca).map(ctx.path);
  return https;
}

function normalizeAcme(acme: AcmeSection, ctx: Context): AcmeConfig {
  return {
    directory: acme.directory,
    email: acme.email,
    ca: acme.ca === undefined ? null : ctx.path(acme.ca),
    storage: ctx.path(acme.storage ?? 'acme'),
    checkIntervalMs: (acme.checkInterval ?? 60) * 1000,
    retryAfterMs: (acme.retryAfter ?? 300) * 1000,
  };
}

/** An empty bind list turns the listener off (Hipache's way of disabling HTTPS). */
function listener(port: number, bind: string | string[] | undefined, proxyProtocol = false): ListenConfig | null {
  const addresses = bind === undefined ? DEFAULT_BIND : [...new Set(toList(bind))];
  return addresses.length === 0 ? null : { port, bind: addresses, proxyProtocol };
}

function legacyBind(server: ServerSection): string[] | undefined {
  if (server.address === undefined && server.address6 === undefined) return undefined;
  return [...toList(server.address ?? []), ...toList(server.address6 ?? [])];
}

function normalizeRedis(raw: ConfigFile, ctx: Context): RedisSourceConfig | null {
  const options: RedisSourceOptions = {
    tracking: raw.redis?.tracking ?? 'auto',
    syncTimeoutMs: raw.redis?.syncTimeout ?? DEFAULT_SYNC_TIMEOUT_MS,
    readYourWrites: raw.redis?.readYourWrites ?? true,
  };
  if (raw.redis?.sentinel !== undefined) {
    const sentinel = normalizeSentinel(raw, raw.redis.sentinel, ctx);
    return sentinel === null ? null : { ...options, sentinel };
  }
  const endpoints = redisEndpoints(raw, ctx);
  return endpoints === null ? null : { ...options, ...endpoints };
}

/** The sentinels name the master: a fixed address from any other key would contradict them. */
function normalizeSentinel(raw: ConfigFile, sentinel: SentinelSection, ctx: Context): SentinelConfig | null {
  const fixed = (['driver', ...LEGACY_REDIS_KEYS, ...LEGACY_MASTER_KEYS] as const).filter((k) => raw[k] !== undefined);
  for (const k of fixed) ctx.report('/redis/sentinel', `cannot be combined with "${k}": the sentinels name the master (use one or the other)`);
  const nodes: SentinelNode[] = [];
  sentinel.nodes.forEach((text, i) => {
    const node = checkHostPort(text, DEFAULT_SENTINEL_PORT);
    if (node.ok) nodes.push({ host: node.host, port: node.port });
    else ctx.report(`/redis/sentinel/nodes/${i}`, node.reason);
  });
  if (fixed.length > 0 || nodes.length !== sentinel.nodes.length) return null;
  const config: SentinelConfig = { name: sentinel.name, nodes, db: sentinel.db ?? 0, prefix: sentinel.prefix ?? '' };
  if (sentinel.password !== undefined) config.password = sentinel.password;
  if (sentinel.masterPassword !== undefined) config.masterPassword = sentinel.masterPassword;
  return config;
}

type Endpoints = { read: RedisEndpoint; write: RedisEndpoint };

function redisEndpoints(raw: ConfigFile, ctx: Context): Endpoints | null {
  const legacy = [...LEGACY_REDIS_KEYS, ...LEGACY_MASTER_KEYS].filter((k) => raw[k] !== undefined);
  if (raw.driver !== undefined) {
    for (const k of legacy) ctx.report(`/${k}`, 'cannot be combined with "driver"');
    return fromDriver(raw.driver, ctx);
  }
  if (legacy.length > 0) return fromLegacyKeys(raw, ctx);
  // Options for Redis without a driver: Hipache's default driver, "redis:".
  return raw.redis !== undefined ? fromDriver('redis:', ctx) : null;
}

function fromDriver(driver: string | string[], ctx: Context): Endpoints | null {
  const urls = typeof driver === 'string' ? [{ url: driver, pointer: '/driver' }] : driver.map((url, i) => ({ url, pointer: `/driver/${i}` }));
  const parsed = urls.map(({ url, pointer }) => parseOrReport(url, pointer, ctx));
  const [read, second] = parsed;
  if (!read || parsed.includes(null)) return null;
  if (!second) return { read, write: read };
  // Dead marks written to the master must land on the keys the replica is read
  // from, so the master uses the replica's prefix, as in Hipache.
  if (second.prefix !== '' && second.prefix !== read.prefix) {
    ctx.report('/driver/1', `key prefix "${second.prefix}" differs from the first URL's "${read.prefix}"`);
  }
  return { read, write: { ...second, prefix: read.prefix } };
}

function parseOrReport(url: string, pointer: string, ctx: Context): RedisEndpoint | null {
  const result = checkRedisUrl(url);
  if (result.ok) return result.endpoint;
  ctx.report(pointer, result.reason);
  return null;
}

function fromLegacyKeys(raw: ConfigFile, ctx: Context): Endpoints {
  const read = redisEndpoint({ host: raw.redisHost, port: raw.redisPort, db: raw.redisDatabase, password: raw.redisPassword });
  if (raw.redisMasterHost === undefined) {
    for (const k of LEGACY_MASTER_KEYS) if (raw[k] !== undefined) ctx.report(`/${k}`, 'requires "redisMasterHost"');
    return { read, write: read };
  }
  const write = redisEndpoint({
    host: raw.redisMasterHost,
    port: raw.redisMasterPort,
    // Hipache 0.3 had redisMasterDatabase; before it the master used redisDatabase.
    db: raw.redisMasterDatabase ?? raw.redisDatabase,
    password: raw.redisMasterPassword,
  });
  return { read, write };
}

function toList(value: string | string[]): string[] {
  return typeof value === 'string' ? [value] : value;
}
