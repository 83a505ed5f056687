import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AdminConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import { parseBackend } from '../../src/frontends/backend.js';
import { normalizeHost } from '../../src/frontends/host.js';
import type { LimitCounters } from '../../src/proxy/limits.js';
import type { FrontStats } from '../../src/proxy/server.js';
import type { Route, RoutingTable } from '../../src/routing/table.js';
import type { ConfigSource } from '../../src/vocabulary/source.js';
import type { MasterReport } from '../workers/messages.js';

const log = logger('admin');

export interface AdminState {
  table: RoutingTable;
  sources: readonly ConfigSource[];
  worker: string;
  /** The worker's generation and the last reload's outcome, as the master reported them. */
  master: () => MasterReport | null;
  /** Whose definition of a host wins when several sources define it. */
  precedence: 'redis' | 'file';
  /** What the fast front end served and handed to node:http so far. */
  front: () => FrontStats;
  /** What the limits of SPEC §6 did (connections refused, stalls cut), with maxConnections. */
  limits: () => LimitCounters & { maxConnections: number };
}

/** Which rule a route key is: how `explain` says why a host went where it went. */
export function ruleOf(key: string): 'exact' | 'wildcard' | 'catch-all' {
  return key === '*' ? 'catch-all' : key.startsWith('*.') ? 'wildcard' : 'exact';
}

/** A route as the API shows it, with each backend's state for a requested host. */
export function describeRoute(table: RoutingTable, route: Route, host: string | null) {
  return {
    key: route.key,
    id: route.id,
    rule: ruleOf(route.key),
    source: route.source,
    options: route.options ?? {},
    backends: route.backends.map((url, index) => ({
      index,
      url,
      valid: parseBackend(url) !== null,
      dead: host !== null && table.isDead(host, index),
    })),
  };
}

type Handler = (state: AdminState, url: URL) => { status: number; body: unknown };

const ROUTES: Record<string, Handler> = {
  '/status': (state) => ({
    status: 200,
    body: {
      worker: state.worker,
      pid: process.pid,
      generation: state.master()?.generation ?? null,
      reload: state.master()?.reload ?? null,
      table: state.table.stats(),
      loaded: state.table.loaded,
      precedence: state.precedence,
      sources: state.sources.map((s) => s.status()),
      front: state.front(),
      limits: state.limits(),
    },
  }),
  '/route': (state, url) => {
    const host = normalizeHost(url.searchParams.get('host') ?? undefined);
    if (host === null) return { status: 400, body: { error: 'INVALID_HOST', message: 'give ?host=<host>' } };
    const route = state.table.lookup(host);
    if (route === undefined) return { status: 404, body: { host, route: null, answer: 400, error: 'UNKNOWN_HOST' } };
    return { status: 200, body: { host, route: describeRoute(state.table, route, host) } };
  },
  '/frontends': (state) => ({
    status: 200,
    body: { version: state.table.version, frontends: [...state.table.routes()].map((r) => describeRoute(state.table, r, null)) },
  }),
  '/events': (state, url) => {
    const since = Number(url.searchParams.get('since') ?? 0) || 0;
    // The history records snapshots by their size already (frontends and dead marks counted).
    const events = state.table.history(since).map(({ seq, at, event }) => ({ seq, at: new Date(at).toISOString(), ...event }));
    return { status: 200, body: { version: state.table.version, events } };
  },
};

/**
 * Without a token the API trusts being reachable from this machine only. A
 * web page in a browser here could still reach it through a name it
 * controls, rebound to 127.0.0.1 (DNS rebinding): such a request names that
 * domain in Host, so only IP literals and localhost are answered.
 */
function isLocalName(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name === 'localhost' || isIP(name) !== 0;
}

/**
 * The read-only admin API: JSON over HTTP, loopback unless configured
 * otherwise, with a bearer token when one is set. It reads the table; it
 * never changes anything.
 */
export function startAdmin(config: AdminConfig, state: AdminState): Promise<http.Server> {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body, null, 2) + '\n';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
      res.end(text);
    };
    if (config.token === null && !isLocalName(req.headers.host)) return reply(421, { error: 'MISDIRECTED', message: 'address the admin API by IP address or localhost' });
    if (config.token !== null && req.headers.authorization !== `Bearer ${config.token}`) return reply(401, { error: 'UNAUTHORIZED' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { error: 'READ_ONLY' });
    const url = new URL(req.url ?? '/', 'http://admin');
    const handler = ROUTES[url.pathname];
    if (handler === undefined) return reply(404, { error: 'NOT_FOUND', endpoints: Object.keys(ROUTES) });
    const { status, body } = handler(state, url);
    reply(status, body);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.bind }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error('admin listener error', { error: err.message }));
      resolve(server);
    });
  });
}
