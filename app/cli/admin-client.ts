// A client for a running instance's read-only admin API (app/admin/server.ts):
// where it is (--admin, or the config file's `admin` section), and typed
// answers. Every failure to get an answer is a CliError (exit 2).

import type { FrontendOptions } from '../../src/vocabulary/events.js';
import type { SourceStatus } from '../../src/vocabulary/source.js';
import { exclusive, type ParsedArgs } from './args.js';
import { CliError } from './command.js';
import { loadCliConfig } from './config.js';

export const TOKEN_ENV = 'SWITCHYARD_ADMIN_TOKEN';
const TIMEOUT_MS = 5000;

export interface AdminTarget {
  url: URL;
  token: string | null;
  /** The precedence the config file sets, when the target came from one. */
  precedence: 'redis' | 'file' | null;
}

export interface AdminBackend {
  index: number;
  url: string;
  valid: boolean;
  dead: boolean;
}

export interface AdminRoute {
  key: string;
  id: string;
  rule: 'exact' | 'wildcard' | 'catch-all';
  source: string;
  options: FrontendOptions;
  backends: AdminBackend[];
}

export interface AdminFrontends {
  version: number;
  /** Every source's frontends, highest precedence source first. */
  frontends: AdminRoute[];
}

export interface AdminStatus {
  loaded: boolean;
  table: { version: number; frontends: number };
  sources: Array<SourceStatus & { path?: string }>;
}

export interface AdminReply<T> {
  status: number;
  body: T;
}

/** --admin URL, else the config's admin section (its bind address, 127.0.0.1 for a wildcard bind). */
export function resolveAdmin(args: ParsedArgs): AdminTarget {
  exclusive(args, 'admin', 'config');
  const given = args.string('admin');
  const config = given === undefined ? loadCliConfig(args.string('config')) : null;
  const token = args.string('token') ?? (process.env[TOKEN_ENV] || undefined) ?? config?.admin?.token ?? null;
  if (given !== undefined) return { url: parseAdminUrl(given), token, precedence: null };
  if (config === null) throw new CliError('USAGE', 'where is the proxy? give --admin URL or --config FILE (no config/config.json here)');
  if (config.admin === null) {
    throw new CliError('USAGE', `${config.origin ?? 'the config'} has no "admin" section: the admin API is off there (add "admin": {"port": N}, or give --admin URL)`);
  }
  const bind = config.admin.bind;
  const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  return { url: new URL(`http://${host}:${config.admin.port}/`), token, precedence: config.precedence };
}

function parseAdminUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new CliError('USAGE', `--admin ${text}: not a URL (e.g. http://127.0.0.1:9090)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('USAGE', `--admin ${text}: must be an http:// URL`);
  // A base path (the API behind a reverse proxy at /switchyard/) is kept: endpoints are resolved below it.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** GET `path` (with its query); any HTTP status comes back, only 401 and non-JSON answers throw. */
export async function adminGet<T>(target: AdminTarget, path: string): Promise<AdminReply<T>> {
  const url = endpointUrl(target, path);
  const headers: Record<string, string> = target.token === null ? {} : { authorization: `Bearer ${target.token}` };
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new CliError('CONNECT', `cannot reach the admin API at ${target.url.origin}: ${networkReason(err)}`, { cause: err });
  }
  if (res.status === 401) {
    const how = target.token === null ? `it requires a token: --token T or $${TOKEN_ENV}` : 'the token was refused';
    throw new CliError('CONNECT', `the admin API at ${target.url.origin} answered 401: ${how}`);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    throw new CliError('PROTOCOL', `${url.href} answered ${res.status} with something that is not JSON: is this a Switchyard admin API?`);
  }
}

/** GET `path`, which must answer 200. */
export async function adminGetOk<T>(target: AdminTarget, path: string): Promise<T> {
  const reply = await adminGet<T>(target, path);
  if (reply.status !== 200) throw new CliError('PROTOCOL', `${endpointUrl(target, path).href} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

function endpointUrl(target: AdminTarget, path: string): URL {
  return new URL(path.replace(/^\//, ''), target.url);
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return `no answer within ${TIMEOUT_MS} ms`;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
