// The instance's admin listener, served by the master (SPEC §8): one answer
// for all workers together. Table queries are relayed to a serving worker
// over IPC (app/admin/answers.ts answers them); /status and /metrics gather
// every worker; /healthz and /readyz are the master's own word; / is the
// status page (page/) and /events/stream the configuration events as they
// are applied (event-stream.ts).

import type { Worker } from 'node:cluster';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AdminConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { InstanceMetrics } from '../metrics/instance.js';
import type { WorkerQuery } from '../workers/messages.js';
import type { WorkerQueries } from '../workers/queries.js';
import { authorized, REALM } from './auth.js';
import { EventFeed } from './event-feed.js';
import { EventStreams } from './event-stream.js';
import { statusPage } from './page/page.js';
import type { AcmeStatus } from '../acme/orderer.js';
import type { HealthStatus } from '../health/prober.js';
import { mergeStatus, type InstanceSummary } from './status.js';

const log = logger('admin');

/** What the master tells the admin listener about the instance. */
export interface Instance {
  /** The serving generation's workers that listen, oldest first. */
  serving(): Worker[];
  readonly queries: WorkerQueries;
  readonly metrics: InstanceMetrics;
  /** Whose definition of a host wins when several sources define it. */
  precedence(): 'redis' | 'file';
  summary(): InstanceSummary;
  /** The ACME orderer's state (app/acme/orderer.ts); null without https.acme. */
  acme(): AcmeStatus | null;
  /** The health checks' state (app/health/prober.ts); null while the prober does not run. */
  health(): HealthStatus | null;
}


interface Reply {
  status: number;
  body: unknown;
  /** Sent as it is (text/plain), not as JSON. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

const NO_WORKER: Reply = { status: 503, body: { error: 'NO_WORKER', message: 'no worker is serving yet' } };

/** A table query, answered by the oldest serving worker. */
async function relay(instance: Instance, query: WorkerQuery): Promise<Reply> {
  const worker = instance.serving()[0];
  if (worker === undefined) return NO_WORKER;
  try {
    return await instance.queries.ask(worker, query);
  } catch (err) {
    return { status: 503, body: { error: 'WORKER_UNAVAILABLE', message: (err as Error).message } };
  }
}

async function status(instance: Instance, _url: URL, streams: EventStreams): Promise<Reply> {
  const workers = instance.serving();
  const answers = await instance.queries.askAll(workers, { kind: 'status' });
  const acme = instance.acme();
  const body = { ...mergeStatus(instance.summary(), instance.precedence(), workers, answers), eventStreams: streams.open, ...(acme === null ? {} : { acme }), healthChecks: instance.health() };
  // 503 (with what the master knows) until a worker answers: the table and sources are theirs.
  return { status: answers.some((a) => a !== null) ? 200 : 503, body };
}

function page(): Reply {
  const { html, contentSecurityPolicy } = statusPage();
  return {
    status: 200,
    body: null,
    text: html,
    contentType: 'text/html; charset=utf-8',
    headers: { 'Content-Security-Policy': contentSecurityPolicy, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' },
  };
}

async function metrics(instance: Instance): Promise<Reply> {
  const workers = instance.serving();
  const answers = await instance.queries.askAll(workers, { kind: 'metrics' });
  const gathered = workers.flatMap((w, i) => (answers[i] == null ? [] : [{ worker: w.id, metrics: answers[i]!.body as unknown[] }]));
  return { status: 200, body: null, text: await instance.metrics.text(gathered), contentType: instance.metrics.contentType };
}

/**
 * Ready: not draining, the listeners bound (a worker of the serving
 * generation listening), and in each listening worker every source has
 * delivered its first snapshot.
 */
export async function readiness(instance: Instance): Promise<Reply> {
  const summary = instance.summary();
  if (summary.draining) return { status: 503, body: { ready: false, reason: 'draining' } };
  const workers = instance.serving();
  // One worker replaced after a crash leaves the listeners bound and served by the others: still ready.
  if (workers.length === 0) return { status: 503, body: { ready: false, reason: `none of ${summary.workers} workers listening` } };
  // A worker that does not answer (killed a moment ago, or hung) is judged by its replacement, not here.
  const answers = (await instance.queries.askAll(workers, { kind: 'readiness' })).filter((a) => a !== null);
  if (answers.length === 0) return { status: 503, body: { ready: false, reason: 'no worker answered' } };
  const waiting = new Set<string>();
  for (const answer of answers) for (const source of (answer.body as { waiting: string[] }).waiting) waiting.add(source);
  if (waiting.size > 0) return { status: 503, body: { ready: false, reason: `waiting for the first snapshot of ${[...waiting].join(', ')}` } };
  return { status: 200, body: { ready: true } };
}

type Handler = (instance: Instance, url: URL, streams: EventStreams) => Promise<Reply> | Reply;

/** Answered without the token: they say only whether the process runs and serves (load balancers and orchestrators ask). */
const PROBES: Record<string, Handler> = {
  '/healthz': () => ({ status: 200, body: null, text: 'ok\n' }),
  '/readyz': readiness,
};

const ROUTES: Record<string, Handler> = {
  '/': page,
  '/status': status,
  '/metrics': metrics,
  '/route': (instance, url) => relay(instance, { kind: 'route', host: url.searchParams.get('host'), path: url.searchParams.get('path') }),
  '/frontends': (instance) => relay(instance, { kind: 'frontends' }),
  '/events': (instance, url) => relay(instance, { kind: 'events', since: Number(url.searchParams.get('since') ?? 0) || 0 }),
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

function send(res: ServerResponse, reply: Reply): void {
  const text = reply.text ?? JSON.stringify(reply.body, null, 2) + '\n';
  const type = reply.contentType ?? (reply.text !== undefined ? 'text/plain; charset=utf-8' : 'application/json');
  res.writeHead(reply.status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...reply.headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

const EVENT_STREAM = '/events/stream';
/** A connection that moves no byte either way for this long (up to twice: Node gives a write still moving one more period) is cut; an event stream is never that quiet (heartbeats). */
const IDLE_CUT_MS = 30_000;

/** A browser asks for the token as a password (Basic); scripts send it as a bearer token. */
const UNAUTHORIZED: Reply = { status: 401, body: { error: 'UNAUTHORIZED' }, headers: { 'WWW-Authenticate': `Basic realm="${REALM}"` } };

/** The checks every request meets first: a refusal, or null to answer it. */
function refusal(config: AdminConfig, req: IncomingMessage, path: string): Reply | null {
  if (config.token === null && !isLocalName(req.headers.host)) return { status: 421, body: { error: 'MISDIRECTED', message: 'address the admin API by IP address or localhost' } };
  if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: { error: 'READ_ONLY' } };
  if (PROBES[path] === undefined && !authorized(config.token, req.headers.authorization)) return UNAUTHORIZED;
  return null;
}

/**
 * The request target as a URL, or null when it is none. An origin-form
 * target is read as a path whatever it starts with (`//status` is not a
 * host named status, `//` is no error); any other is absolute-form (or
 * nonsense), and `new URL` throws on what it cannot read: thrown here, in
 * the master, before any token is checked, that would end the process.
 */
function targetOf(target: string): URL | null {
  try {
    return new URL(target.startsWith('/') ? `http://admin${target}` : target);
  } catch {
    return null;
  }
}

const BAD_TARGET: Reply = { status: 400, body: { error: 'BAD_REQUEST', message: 'not a request target' } };

function notFound(): Reply {
  return { status: 404, body: { error: 'NOT_FOUND', endpoints: [...Object.keys(PROBES), ...Object.keys(ROUTES), EVENT_STREAM] } };
}

/** The running admin listener. */
export interface AdminListener {
  readonly server: http.Server;
  /** Stops listening and ends the event streams (an open one would hold the listener open). */
  close(): Promise<void>;
}

/** The read-only admin API: loopback unless configured otherwise, with a token when one is set. */
export function startAdmin(config: AdminConfig, instance: Instance): Promise<AdminListener> {
  const streams = new EventStreams(new EventFeed(instance));
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = targetOf(req.url ?? '/');
    if (url === null) return send(res, BAD_TARGET);
    const refused = refusal(config, req, url.pathname);
    if (refused !== null) return send(res, refused);
    if (url.pathname === EVENT_STREAM) return streams.serve(req, res);
    const handler = PROBES[url.pathname] ?? ROUTES[url.pathname] ?? notFound;
    Promise.resolve(handler(instance, url, streams))
      .then((reply) => send(res, reply))
      .catch((err: Error) => {
        log.error('admin request failed', { path: req.url, error: err.message });
        if (!res.headersSent) send(res, { status: 500, body: { error: 'INTERNAL', message: err.message } });
      });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  // The master would hold an answer no one takes (a /frontends of many hosts is megabytes) for as long as its client pleases.
  server.timeout = IDLE_CUT_MS;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      streams.closeAll();
      server.closeIdleConnections();
    });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.bind }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error('admin listener error', { error: err.message }));
      resolve({ server, close });
    });
  });
}
