// `switchyard import <file-or-dir>`: a vhosts tree -> the Hipache lists in
// Redis. A dry run (the diff) unless --apply; each host's list is replaced in
// one transaction, so the proxy never serves half a list.

import type { FrontendSpec } from '../../../src/vocabulary/events.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import { EXIT_OK, type Command, type ExitCode, type Output } from '../command.js';
import { countChanges, diffFrontends, hasChanges, type FrontendChange } from '../diff.js';
import type { HipacheStore, StoredFrontend } from '../../../adapters/redis/index.js';
import { resolveRedis, withStore } from '../redis-store.js';
import { renderChanges, renderCounts } from '../render.js';
import { loadValidTree } from '../vhosts.js';

const USAGE = `Usage: switchyard import <file-or-dir> [--config FILE | --redis URL] [--apply] [--prune]

Loads a vhosts file (or directory) into Redis as Hipache frontend:<host>
lists: [id, backend...], a backend of weight N repeated N times. Without
--apply, prints what would change (added, changed, unchanged; removed with
--prune) and writes nothing. The file is validated first, as by
\`switchyard validate\`: an invalid file is refused as a whole.

Options:
  -c, --config FILE  write to the Redis of this proxy config (its master, the
                     last "driver" URL). Default: config/config.json when present
      --redis URL    redis://[:password@]host[:port][/db][#keyprefix]
      --apply        write: each host's list is replaced atomically (MULTI DEL+RPUSH)
      --prune        also remove the frontend keys (under the prefix) that the
                     file does not define
  -h, --help         show this help

Per-vhost options (tcpTimeout, retryOnError, redirectHttps, hsts, stripPrefix,
healthCheck) and tls have no place in a Hipache list: they are left out (with
a warning).
A path frontend ("/api" under paths) is written as frontend:<host>/api.
Dead marks (dead:<host>) are not touched.

Exit status: 0 done (or dry run printed), 1 the file is invalid, 2 wrong
arguments or Redis unreachable.
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  redis: { type: 'string' },
  apply: { type: 'boolean' },
  prune: { type: 'boolean' },
} as const;

export const command: Command = {
  name: 'import',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandArgs(argv, OPTIONS, ['file-or-dir']);
    const tree = await loadValidTree(args.positionals[0]!, io);
    if (typeof tree === 'number') return tree;
    const desired = withoutOptions(tree.frontends, io);
    for (const host of tree.tlsHosts) io.err(`warning: ${host}: tls is not imported (a certificate in Redis is a tls:${host} key of its own)\n`);
    return withStore(resolveRedis(args, 'write'), (store) => importInto(store, desired, args, io));
  },
};

async function importInto(store: HipacheStore, desired: Map<string, FrontendSpec>, args: ParsedArgs, io: Output): Promise<ExitCode> {
  const prune = args.flag('prune');
  const hosts = prune ? [...new Set([...desired.keys(), ...(await store.hosts())])] : [...desired.keys()];
  const current = new Map([...(await store.read(hosts)).values()].map((s) => [s.key, asFrontend(s)]));
  const changes = diffFrontends(desired, current, { removals: prune });
  const counts = countChanges(changes);
  io.out(`import into ${store.endpoint.display}\n\n`);
  io.out(renderChanges(changes, { unchanged: true }));
  if (!args.flag('apply')) {
    io.out(`\nDry run: ${renderCounts(counts, 'plan')}.${hasChanges(counts) ? ' Nothing written: --apply writes.' : ''}\n`);
    return EXIT_OK;
  }
  await apply(store, changes);
  io.out(`\nApplied: ${renderCounts(counts, 'done')}.\n`);
  return EXIT_OK;
}

async function apply(store: HipacheStore, changes: readonly FrontendChange[]): Promise<void> {
  for (const change of changes) {
    if (change.kind === 'remove') await store.remove(change.key);
    else if (change.kind !== 'unchanged') await store.replace(change.key, [change.after!.id, ...change.after!.backends]);
  }
}

/** Redis lists carry an id and backends only. */
function withoutOptions(frontends: ReadonlyMap<string, FrontendSpec>, io: Output): Map<string, FrontendSpec> {
  const out = new Map<string, FrontendSpec>();
  for (const [key, { id, backends, options }] of frontends) {
    const names = Object.keys(options ?? {});
    if (names.length > 0) io.err(`warning: ${key}: ${names.join(', ')} cannot be stored in a Hipache list; left out\n`);
    out.set(key, { key, id, backends });
  }
  return out;
}

/** A key of another type is shown as a change (the import replaces it with a list). */
function asFrontend(stored: StoredFrontend): FrontendSpec {
  if ('wrongType' in stored) return { key: stored.key, id: `(not a list: a ${stored.wrongType})`, backends: [] };
  const [id = '', ...backends] = stored.list;
  return { key: stored.key, id, backends };
}
