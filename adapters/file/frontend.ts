// One valid vhosts entry -> the FrontendSpec the routing table serves.

import type { FrontendOptions, FrontendSpec } from '../../src/vocabulary/events.js';
import { parseBackend } from '../../src/frontends/backend.js';
import type { BackendEntry, Vhost } from '../../schema/vhosts.schema.js';
import type { VhostsDocument } from './document.js';
import { pointerOf, type FileProblem } from './problems.js';

/** The lookup key for a vhosts key: lowercased, one trailing dot dropped, like a Host header. */
export function normalizeKey(key: string): string {
  const lower = key.toLowerCase();
  return lower.length > 1 && lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export type FrontendResult = { ok: true; spec: FrontendSpec } | { ok: false; problems: FileProblem[] };

/**
 * Weight is implemented as repetition: the proxy picks uniformly among the
 * listed backends (Hipache's "a backend listed twice gets twice the traffic").
 */
export function toFrontend(doc: VhostsDocument, key: string, vhost: Vhost): FrontendResult {
  const normalized = normalizeKey(key);
  const problems: FileProblem[] = [];
  const backends: string[] = [];
  vhost.backends.forEach((entry, index) => {
    const { url, weight } = backendOf(entry);
    if (parseBackend(url) === null) problems.push(badBackend(doc, key, index, entry, url));
    else for (let i = 0; i < weight; i++) backends.push(url);
  });
  if (problems.length > 0) return { ok: false, problems };
  const spec: FrontendSpec = { key: normalized, id: vhost.id ?? normalized, backends };
  const { tcpTimeout, retryOnError, redirectHttps, hsts } = vhost;
  const options = withoutUndefined<FrontendOptions>({ tcpTimeout, retryOnError, redirectHttps, hsts });
  if (Object.keys(options).length > 0) spec.options = options;
  return { ok: true, spec };
}

function backendOf(entry: BackendEntry): { url: string; weight: number } {
  return typeof entry === 'string' ? { url: entry, weight: 1 } : { url: entry.url, weight: entry.weight ?? 1 };
}

function badBackend(doc: VhostsDocument, key: string, index: number, entry: BackendEntry, url: string): FileProblem {
  const segments = ['vhosts', key, 'backends', index, ...(typeof entry === 'string' ? [] : ['url'])];
  const path = pointerOf(segments);
  const { line, column } = doc.locate(path);
  const reason = `"${url}" is not a usable backend: an http(s) URL with a host, and no user info, query or fragment`;
  return { code: 'FILE_BACKEND', file: doc.file, line, column, path, reason, host: key };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
