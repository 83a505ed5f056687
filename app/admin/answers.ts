// A worker's answers to the admin queries the master relays (app/admin/server.ts
// serves them for the whole instance). They read the worker's table and
// sources; they never change anything.

import { parseBackend } from '../../src/frontends/backend.js';
import { normalizeHost } from '../../src/frontends/host.js';
import { deadMarksName, hostOfKey, prefixOfKey } from '../../src/frontends/path.js';
import type { LimitCounters } from '../../src/proxy/limits.js';
import type { FrontStats } from '../../src/proxy/server.js';
import type { TrafficSummary } from '../../src/proxy/traffic.js';
import type { Route, RoutingTable } from '../../src/routing/table.js';
import type { ConfigSource } from '../../src/vocabulary/source.js';
import type { MasterReport, QueryAnswer, WorkerQuery } from '../workers/messages.js';
import { assertNever } from '../../src/vocabulary/events.js';
import { acmeHosts } from '../acme/hosts.js';
import { frontendsVersion, healthTargets, type TargetsAnswer } from '../health/targets.js';
import { daysLeft, type CertificateInfo } from './certificates.js';

/** Dead marks a status lists (all are counted): enough for a page, bounded when a wildcard fails for many hosts. */
export const DEAD_MARKS_LISTED = 100;

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
  /** The worker's metrics as prom-client's JSON (app/metrics/worker.ts). */
  metrics: () => Promise<unknown[]>;
  /** What this worker counted: requests seen to their end, 5xx, backend errors, retries. */
  traffic: () => TrafficSummary;
  /** The default certificate, then the sources' expiring soonest (CERTIFICATES_LISTED at most). */
  certificates: () => readonly CertificateInfo[];
  /** How many certificates each source gives (`config`: https.cert). */
  certificateCounts: () => Record<string, number>;
}

/** Which rule a route key's host is: how `explain` says why a host went where it went (a path frontend's key ends in its prefix). */
export function ruleOf(key: string): 'exact' | 'wildcard' | 'catch-all' {
  const host = hostOfKey(key);
  return host === '*' ? 'catch-all' : host.startsWith('*.') ? 'wildcard' : 'exact';
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
      dead: host !== null && table.isDead(deadMarksName(host, route.key), index),
    })),
  };
}

/** The dead marks in force, each with the backend it names for its host (null once the host's route no longer has it). */
function deadBackends(table: RoutingTable) {
  const { total, marks } = table.deadMarks(DEAD_MARKS_LISTED);
  const listed = marks.map(({ host, index, until, source }) => ({
    host,
    index,
    url: table.lookup(hostOfKey(host), prefixOfKey(host))?.backends[index] ?? null, // a path frontend's marks: "<host>/<prefix>"
    until: new Date(until).toISOString(),
    source,
  }));
  return { count: total, marks: listed };
}

/** The worker's own status: one entry of the instance's `workers`. */
function workerStatus(state: AdminState) {
  const memory = process.memoryUsage();
  const traffic = state.traffic();
  return {
    worker: state.worker,
    pid: process.pid,
    generation: state.master()?.generation ?? null,
    table: state.table.stats(),
    loaded: state.table.loaded,
    sources: state.sources.map((s) => s.status()),
    memory: { rss: memory.rss, heapUsed: memory.heapUsed },
    requests: traffic.requests,
    traffic,
    front: state.front(),
    limits: state.limits(),
    deadBackends: deadBackends(state.table),
    certificates: state.certificates().map((cert) => ({ ...cert, daysLeft: daysLeft(cert) })),
    certificateCounts: state.certificateCounts(),
  };
}

export type WorkerStatus = ReturnType<typeof workerStatus>;

function route(state: AdminState, raw: string | null, path: string | null): QueryAnswer {
  const host = normalizeHost(raw ?? undefined);
  if (host === null) return { status: 400, body: { error: 'INVALID_HOST', message: 'give ?host=<host>' } };
  const found = state.table.lookup(host, path ?? '');
  const certificate = certificateFor(state.table, host);
  if (found === undefined) return { status: 404, body: { host, route: null, answer: 400, error: 'UNKNOWN_HOST', certificate } };
  return { status: 200, body: { host, route: describeRoute(state.table, found, host), certificate } };
}

/** The certificate a TLS handshake naming `host` gets (SNI), without its PEM; null: the default (https.cert). */
function certificateFor(table: RoutingTable, host: string) {
  const hit = table.certificates.select(host);
  if (hit === null) return null;
  const { key, names, checked, notAfter, fingerprint } = hit.certificate;
  // Not checked yet (deferred by a large snapshot): the first handshake naming it checks it.
  if (!checked) return { source: hit.source, key, names, checked, notAfter: null, fingerprint: null };
  return { source: hit.source, key, names, checked, notAfter: new Date(notAfter).toISOString(), fingerprint };
}

export async function answerQuery(state: AdminState, query: WorkerQuery): Promise<QueryAnswer> {
  const { table } = state;
  switch (query.kind) {
    case 'status':
      return { status: 200, body: workerStatus(state) };
    case 'route':
      return route(state, query.host, query.path);
    case 'frontends':
      return { status: 200, body: { version: table.version, frontends: [...table.routes()].map((r) => describeRoute(table, r, null)) } };
    case 'events': {
      // The history records snapshots by their size already (frontends and dead marks counted).
      const events = table.history(query.since).map(({ seq, at, event }) => ({ seq, at: new Date(at).toISOString(), ...event }));
      return { status: 200, body: { version: table.version, events } };
    }
    case 'metrics':
      return { status: 200, body: await state.metrics() };
    case 'readiness': {
      const waiting = state.sources.filter((s) => s.status().lastSnapshotAt === null).map((s) => s.name);
      return { status: waiting.length === 0 ? 200 : 503, body: { waiting } };
    }
    case 'acme-hosts':
      return { status: 200, body: acmeHosts(table, query.issued) };
    case 'health-targets': {
      const version = frontendsVersion(table);
      if (version === query.known) return { status: 200, body: { version, unchanged: true } satisfies TargetsAnswer };
      return { status: 200, body: { version, targets: healthTargets(table, query.defaults) } satisfies TargetsAnswer };
    }
    default:
      return assertNever(query);
  }
}
