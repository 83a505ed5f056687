// One valid vhosts entry -> the FrontendSpecs the routing table serves: the
// host's own, and one per path prefix under it (SPEC §9).

import type { FrontendOptions, FrontendSpec, HealthCheckOptions } from '../../src/vocabulary/events.js';
import { parseBackend } from '../../src/frontends/backend.js';
import { prefixProblem } from '../../src/frontends/path.js';
import type { BackendEntry, HealthCheckEntry, Vhost, VhostPath } from '../../schema/vhosts.schema.js';
import type { VhostsDocument } from './document.js';
import { pointerOf, type FileProblem } from './problems.js';

/** The lookup key for a vhosts key: lowercased, one trailing dot dropped, like a Host header. */
export function normalizeKey(key: string): string {
  const lower = key.toLowerCase();
  return lower.length > 1 && lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export type FrontendResult = { ok: true; specs: FrontendSpec[] } | { ok: false; problems: FileProblem[] };

/** Where in the document an entry is: its key as written, and the segments of its JSON pointer. */
interface Place {
  doc: VhostsDocument;
  host: string;
  segments: string[];
}

/**
 * The host's own frontend (when it has backends) and its path frontends, the
 * key "<host><prefix>" each. A path takes the host's options and overrides
 * those it sets: a host's redirectHttps or hsts covers its paths too.
 * Weight is implemented as repetition: the proxy picks uniformly among the
 * listed backends (Hipache's "a backend listed twice gets twice the traffic").
 */
export function toFrontends(doc: VhostsDocument, key: string, vhost: Vhost): FrontendResult {
  const host = normalizeKey(key);
  const problems: FileProblem[] = [];
  const specs: FrontendSpec[] = [];
  const hostOptions = optionsOf(vhost);
  if (vhost.backends === undefined && Object.keys(vhost.paths ?? {}).length === 0) problems.push(nothingToServe(doc, key));
  if (vhost.backends !== undefined) {
    const backends = backendsOf({ doc, host: key, segments: ['vhosts', key] }, vhost.backends, problems);
    specs.push(specOf(host, vhost.id ?? host, backends, hostOptions));
  }
  for (const [prefix, path] of Object.entries(vhost.paths ?? {})) {
    const place = { doc, host: key, segments: ['vhosts', key, 'paths', prefix] };
    const problem = prefixProblem(prefix);
    if (problem !== null) problems.push(problemAt(place, 'FILE_SCHEMA', `"${prefix}" is not a path prefix: ${problem}`));
    const backends = backendsOf(place, path.backends, problems);
    specs.push(specOf(host + prefix, path.id ?? host + prefix, backends, { ...hostOptions, ...optionsOf(path) }));
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, specs };
}

function specOf(key: string, id: string, backends: string[], options: FrontendOptions): FrontendSpec {
  const spec: FrontendSpec = { key, id, backends };
  if (Object.keys(options).length > 0) spec.options = options;
  return spec;
}

function optionsOf(entry: Vhost | VhostPath): FrontendOptions {
  const { tcpTimeout, retryOnError, redirectHttps, hsts, balance } = entry;
  const stripPrefix = 'stripPrefix' in entry ? entry.stripPrefix : undefined;
  const healthCheck = entry.healthCheck === undefined || entry.healthCheck === false ? entry.healthCheck : healthCheckOf(entry.healthCheck);
  const sticky = entry.sticky === undefined ? undefined : { cookie: entry.sticky.cookie };
  return withoutUndefined<FrontendOptions>({ tcpTimeout, retryOnError, redirectHttps, hsts, stripPrefix, balance, sticky, healthCheck });
}

/** Its fields in one order, whatever the file's: equal checks compare equal (options are compared as text). */
function healthCheckOf(check: HealthCheckEntry): HealthCheckOptions {
  const { path, interval, timeout, unhealthyAfter, healthyAfter } = check;
  return withoutUndefined<HealthCheckOptions>({ path, interval, timeout, unhealthyAfter, healthyAfter });
}

/** The backend URLs, each repeated by its weight; a bad one is a problem. */
function backendsOf(place: Place, entries: readonly BackendEntry[], problems: FileProblem[]): string[] {
  const backends: string[] = [];
  entries.forEach((entry, index) => {
    const { url, weight } = backendOf(entry);
    if (parseBackend(url) === null) problems.push(badBackend(place, index, entry, url));
    else for (let i = 0; i < weight; i++) backends.push(url);
  });
  return backends;
}

function backendOf(entry: BackendEntry): { url: string; weight: number } {
  return typeof entry === 'string' ? { url: entry, weight: 1 } : { url: entry.url, weight: entry.weight ?? 1 };
}

function badBackend(place: Place, index: number, entry: BackendEntry, url: string): FileProblem {
  const reason = `"${url}" is not a usable backend: an http(s) URL with a host, and no user info, query or fragment`;
  const segments = [...place.segments, 'backends', String(index), ...(typeof entry === 'string' ? [] : ['url'])];
  return problemAt({ ...place, segments }, 'FILE_BACKEND', reason);
}

function nothingToServe(doc: VhostsDocument, key: string): FileProblem {
  return problemAt({ doc, host: key, segments: ['vhosts', key] }, 'FILE_SCHEMA', 'a host needs backends, paths, or both');
}

function problemAt({ doc, host, segments }: Place, code: FileProblem['code'], reason: string): FileProblem {
  const path = pointerOf(segments);
  const { line, column } = doc.locate(path, code === 'FILE_SCHEMA');
  return { code, file: doc.file, line, column, path, reason, host };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
