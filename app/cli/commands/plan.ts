// `switchyard plan <file-or-dir>`: what serving this vhosts tree would change
// on a running instance, read from its admin API: the frontends its file
// source serves now against the ones the tree defines.

import type { FrontendSpec } from '../../../src/vocabulary/events.js';
import { resolveAdmin, adminGetOk, type AdminFrontends, type AdminRoute, type AdminStatus, type AdminTarget } from '../admin-client.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_FINDINGS, EXIT_OK, plural, type Command, type Output } from '../command.js';
import { countChanges, diffFrontends, hasChanges } from '../diff.js';
import { renderChanges, renderCounts } from '../render.js';
import { hostCount, loadValidTree, type VhostsTree } from '../vhosts.js';

const USAGE = `Usage: switchyard plan <file-or-dir> [--admin URL | --config FILE] [--token T] [--exit-code]

Shows what a running Switchyard would change if it served this vhosts file
(or directory): the hosts added (+), removed (-) and changed (~: id,
backends, tcpTimeout, retryOnError, redirectHttps, hsts, healthCheck),
compared with what its file source serves now. Hosts Redis also defines are
flagged (!), saying which one wins under the instance's precedence. Reads GET /status and
GET /frontends of the admin API. The file is validated first: an invalid
file is refused.

Options:
      --admin URL    the admin API, e.g. http://127.0.0.1:9090
  -c, --config FILE  the proxy's config: its "admin" section gives the URL
                     (and the token). Default: config/config.json when present
      --token T      bearer token of the admin API (or $SWITCHYARD_ADMIN_TOKEN)
      --exit-code    exit 1 when there are changes (for CI)
  -h, --help         show this help

Exit status: 0 planned (1 with --exit-code when something would change),
1 the file is invalid, 2 wrong arguments or admin API unreachable.
`;

const OPTIONS = {
  admin: { type: 'string' },
  config: { type: 'string', short: 'c' },
  token: { type: 'string' },
  'exit-code': { type: 'boolean' },
} as const;

export const command: Command = {
  name: 'plan',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandArgs(argv, OPTIONS, ['file-or-dir']);
    const tree = await loadValidTree(args.positionals[0]!, io);
    if (typeof tree === 'number') return tree;
    const target = resolveAdmin(args);
    const [status, served] = await Promise.all([adminGetOk<AdminStatus>(target, '/status'), adminGetOk<AdminFrontends>(target, '/frontends')]);
    io.out(header(tree, target, status, io));
    const changes = diffFrontends(tree.frontends, fileFrontends(served.frontends), { removals: true });
    io.out(renderChanges(changes));
    io.out(shadowNotes(tree, served.frontends, target));
    const counts = countChanges(changes);
    io.out(`\nPlan: ${renderCounts(counts, 'plan')}.\n`);
    return hasChanges(counts) && args.flag('exit-code') ? EXIT_FINDINGS : EXIT_OK;
  },
};

function header(tree: VhostsTree, target: AdminTarget, status: AdminStatus, io: Output): string {
  const lines = [`plan: ${tree.path} (${plural(hostCount(tree), 'host')} in ${plural(tree.files.length, 'file')}) against ${target.url.origin}`];
  const file = status.sources.find((s) => s.name === 'file');
  if (file === undefined) {
    io.err(`warning: the instance at ${target.url.origin} has no file source: it would serve nothing of this file\n`);
  } else {
    lines.push(`  its file source: ${file.path ?? '?'} (${file.state}, version ${file.version ?? 'none'})`);
    for (const q of file.quarantined ?? []) lines.push(`  quarantined there: ${q.key} (${q.serving === 'previous' ? 'serving its previous version' : 'not served'})`);
  }
  return `${lines.join('\n')}\n\n`;
}

/** What the file source serves now: only its own frontends are the file's current state. */
function fileFrontends(routes: readonly AdminRoute[]): Map<string, FrontendSpec> {
  const out = new Map<string, FrontendSpec>();
  for (const route of routes) {
    if (route.source !== 'file') continue;
    const spec: FrontendSpec = { key: route.key, id: route.id, backends: route.backends.map((b) => b.url) };
    if (Object.keys(route.options).length > 0) spec.options = route.options;
    out.set(route.key, spec);
  }
  return out;
}

/** A host defined by both sources is served by one of them only: say which. */
function shadowNotes(tree: VhostsTree, routes: readonly AdminRoute[], target: AdminTarget): string {
  const redis = new Map(routes.filter((r) => r.source === 'redis').map((r) => [r.key, r]));
  const winner = precedenceOf(routes, target);
  const notes: string[] = [];
  for (const key of tree.frontends.keys()) {
    const other = redis.get(key);
    if (other === undefined) continue;
    notes.push(
      winner === 'redis'
        ? `! ${key}: shadowed by Redis (frontend:${key}, id ${other.id}): precedence "redis", so the file's version is not served`
        : `! ${key}: also defined in Redis (frontend:${key}, id ${other.id}): precedence "file", so the file's version is served`,
    );
  }
  return notes.length === 0 ? '' : `\n${notes.join('\n')}\n`;
}

/**
 * The admin API lists frontends highest-precedence source first, so the
 * order tells which source wins; failing that, the config's setting, then
 * the default ("redis").
 */
function precedenceOf(routes: readonly AdminRoute[], target: AdminTarget): 'redis' | 'file' {
  const redis = routes.findIndex((r) => r.source === 'redis');
  const file = routes.findIndex((r) => r.source === 'file');
  if (redis !== -1 && file !== -1) return redis < file ? 'redis' : 'file';
  return target.precedence ?? 'redis';
}
