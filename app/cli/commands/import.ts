// `switchyard import <file-or-dir>`: a vhosts tree -> the Hipache lists in
// Redis, and the per-vhost options as options:<key> hashes. A dry run (the
// diff) unless --apply; each host's list, and each options hash, is replaced
// in one transaction, so the proxy never serves half a list.

import type { FrontendSpec } from '../../../src/vocabulary/events.js';
import { hostOfKey } from '../../../src/frontends/path.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import { EXIT_OK, type Command, type ExitCode, type Output } from '../command.js';
import { countChanges, diffFrontends, diffOptions, hasChanges, type FrontendChange, type OptionsChange } from '../diff.js';
import {
  optionsHash,
  parseOptions,
  servedFrontend,
  type HipacheStore,
  type StoredFrontend,
  type StoredOptions,
  type VhostOptions,
} from '../../../adapters/redis/index.js';
import { resolveRedis, withStore } from '../redis-store.js';
import { renderChanges, renderCounts, renderOptionChanges } from '../render.js';
import { loadValidTree, type VhostsTree } from '../vhosts.js';

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

The per-vhost options an entry sets (tcpTimeout, retryOnError, redirectHttps,
hsts, stripPrefix, balance, sticky, healthCheck) are written as the hash options:<host> (or
options:<host>/<prefix> for a path), each value JSON (HSET after DEL); an
entry without options has its hash deleted. The id is the list's first
element (an "id" field of the hash is removed). tls is left out (a
certificate in Redis is a tls:<host> key). A path frontend ("/api" under
paths) is written as frontend:<host>/api. Dead marks (dead:<host>) are not
touched.

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
    for (const host of tree.tlsHosts) io.err(`warning: ${host}: tls is not imported (a certificate in Redis is a tls:${host} key of its own)\n`);
    return withStore(resolveRedis(args, 'write'), (store) => importInto(store, tree, args, io));
  },
};

async function importInto(store: HipacheStore, tree: VhostsTree, args: ParsedArgs, io: Output): Promise<ExitCode> {
  const prune = args.flag('prune');
  const desired = tree.frontends;
  const hosts = prune ? [...new Set([...desired.keys(), ...(await store.hosts())])] : [...desired.keys()];
  const lists = await store.read(hosts);
  const storedOptions = await store.readOptions(await optionKeysConsidered(store, tree, hosts, prune));
  const current = new Map([...lists.values()].map((s) => [s.key, asFrontend(s, storedOptions)]));
  const changes = diffFrontends(desired, current, { removals: prune });
  const optionChanges = diffOptions(wantedOptions(tree), storedOptions, { removals: prune });
  const counts = countChanges(changes);
  io.out(`import into ${store.endpoint.display}\n\n`);
  io.out(renderChanges(changes, { unchanged: true }));
  io.out(renderOptionChanges(optionChanges, store));
  const writes = optionChanges.filter((c) => c.kind !== 'unchanged').length;
  const kept = optionChanges.filter((c) => c.kind === 'unchanged' && c.before !== null).length;
  // Said only where there are options hashes: a Hipache deployment's import reads as before.
  const optionsLine = writes + kept === 0 ? '' : `; options hashes: ${writes} to write, ${kept} unchanged`;
  if (!args.flag('apply')) {
    const anything = hasChanges(counts) || writes > 0;
    io.out(`\nDry run: ${renderCounts(counts, 'plan')}${optionsLine}.${anything ? ' Nothing written: --apply writes.' : ''}\n`);
    return EXIT_OK;
  }
  await apply(store, changes, optionChanges);
  io.out(`\nApplied: ${renderCounts(counts, 'done')}${optionsLine.replace('to write', 'written')}.\n`);
  return EXIT_OK;
}

/**
 * Options first (a new frontend appears with its options: the proxy holds
 * options whose frontend is not there yet), then the lists, then the options
 * of the frontends removed.
 */
async function apply(store: HipacheStore, changes: readonly FrontendChange[], optionChanges: readonly OptionsChange[]): Promise<void> {
  for (const change of optionChanges) if (change.kind === 'write') await store.replaceOptions(change.key, change.after);
  for (const change of changes) {
    if (change.kind === 'remove') await store.remove(change.key);
    else if (change.kind !== 'unchanged') await store.replace(change.key, [change.after!.id, ...change.after!.backends]);
  }
  for (const change of optionChanges) if (change.kind === 'delete') await store.replaceOptions(change.key, null);
}

/** The options hashes read: those composed with the lists read and those the file gives; every one with --prune. */
async function optionKeysConsidered(store: HipacheStore, tree: VhostsTree, hosts: readonly string[], prune: boolean): Promise<string[]> {
  const keys = new Set([...hosts, ...hosts.map(hostOfKey), ...wantedOptions(tree).keys()]);
  if (prune) for (const key of await store.optionKeys()) keys.add(key);
  return [...keys];
}

/** The hash each entry of the file gives its key: its own options, each value JSON; the id goes to the list. */
function wantedOptions(tree: VhostsTree): Map<string, Record<string, string> | null> {
  const wanted = new Map<string, Record<string, string> | null>();
  for (const key of tree.frontends.keys()) {
    wanted.set(key, null);
    wanted.set(hostOfKey(key), null);
  }
  for (const [key, { id: _id, ...options }] of tree.options) wanted.set(key, Object.keys(options).length > 0 ? optionsHash(options as VhostOptions) : null);
  return wanted;
}

/** What Redis serves for a list: composed with its key's options hash and its host level's (those the proxy accepts). */
function asFrontend(stored: StoredFrontend, options: ReadonlyMap<string, StoredOptions>): FrontendSpec {
  if ('wrongType' in stored) return { key: stored.key, id: `(not a list: a ${stored.wrongType})`, backends: [] };
  const [id = '', ...backends] = stored.list;
  return servedFrontend({ key: stored.key, id, backends }, validOptions(stored.key, options), validOptions(hostOfKey(stored.key), options));
}

function validOptions(key: string, options: ReadonlyMap<string, StoredOptions>): VhostOptions | undefined {
  const stored = options.get(key);
  if (stored?.kind !== 'hash') return undefined;
  const parsed = parseOptions(key, stored.fields);
  return parsed.ok ? parsed.options : undefined;
}
