// `switchyard export`: Redis -> a vhosts YAML document (the first step of
// moving a Hipache deployment into git, or a backup).

import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VHOSTS_SCHEMA_ID } from '../../../schema/vhosts.schema.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, plural, type Command, type ExitCode, type Output } from '../command.js';
import { compareHosts } from '../diff.js';
import { exportVhosts, type ExportedList } from '../export-yaml.js';
import { parseOptions, type HipacheStore, type VhostOptions } from '../../../adapters/redis/index.js';
import { resolveRedis, withStore } from '../redis-store.js';

const USAGE = `Usage: switchyard export [--config FILE | --redis URL] [-o FILE] [--schema URL]

Reads every frontend:<host> list of Redis (with SCAN) and writes them as one
vhosts YAML document. Importing that document into an empty Redis gives back
the same lists: same id, same backends in the same order, same repetitions
(a backend repeated consecutively is written once with a weight). The
options:<host> hashes (per-vhost options) are written into their host's or
path's entry; an "id" option is written as the entry's id. A hash the proxy
refuses (quarantined) is skipped and named.

Options:
  -c, --config FILE  read the Redis of this proxy config ("driver"; the first,
                     read URL). Default: config/config.json when present
      --redis URL    redis://[:password@]host[:port][/db][#keyprefix]; only the
                     keys under the prefix are read
  -o, --output FILE  write FILE (replaced atomically) instead of stdout
      --schema URL   the $schema named in the header line
                     (default ${VHOSTS_SCHEMA_ID})
  -h, --help         show this help

Exit status: 0 exported, 1 some keys could not be exported (each is named
on stderr; the others are written), 2 wrong arguments or Redis unreachable.
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  redis: { type: 'string' },
  output: { type: 'string', short: 'o' },
  schema: { type: 'string' },
} as const;

export const command: Command = {
  name: 'export',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandArgs(argv, OPTIONS, []);
    return withStore(resolveRedis(args, 'read'), (store) => exportFrom(store, args, io));
  },
};

async function exportFrom(store: HipacheStore, args: ParsedArgs, io: Output): Promise<ExitCode> {
  const stored = await store.read(await store.hosts());
  const { options, refused } = await readOptions(store, io);
  const lists: ExportedList[] = [];
  for (const entry of [...stored.values()].sort((a, b) => compareHosts(a.key, b.key))) {
    if ('list' in entry) lists.push({ host: entry.key, list: entry.list });
    else io.err(`skipped ${store.frontendKey(entry.key)}: a ${entry.wrongType}, not a list\n`);
  }
  const header = [`yaml-language-server: $schema=${args.string('schema') ?? VHOSTS_SCHEMA_ID}`, `Exported from ${store.endpoint.display} by \`switchyard export\`.`];
  const result = exportVhosts(lists, header, options);
  for (const { host, reason, options: isOptions } of result.skipped) io.err(`skipped ${isOptions ? store.optionsKey(host) : store.frontendKey(host)}: ${reason}\n`);
  await writeOutput(args.string('output'), result.text, io);
  const skipped = result.skipped.length + (stored.size - lists.length) + refused;
  const where = args.string('output') ?? 'stdout';
  io.err(`exported ${plural(result.exported, 'frontend')} to ${where}${skipped > 0 ? `; ${plural(skipped, 'key')} skipped` : ''}\n`);
  return skipped > 0 ? EXIT_FINDINGS : EXIT_OK;
}

/** The options hashes the proxy would serve, by frontend key; the others are named on stderr (and counted). */
async function readOptions(store: HipacheStore, io: Output): Promise<{ options: Map<string, VhostOptions>; refused: number }> {
  const options = new Map<string, VhostOptions>();
  let refused = 0;
  for (const [key, stored] of await store.readOptions(await store.optionKeys())) {
    const parsed = stored.kind === 'hash' ? parseOptions(key, stored.fields) : { ok: false as const, problems: [{ field: '', reason: 'not a hash' }] };
    if (parsed.ok) {
      if (Object.keys(parsed.options).length > 0) options.set(key, parsed.options);
      continue;
    }
    refused++;
    const reasons = parsed.problems.map(({ field, reason }) => (field === '' ? reason : `field ${field}: ${reason}`)).join('; ');
    io.err(`skipped ${store.optionsKey(key)}: ${reasons} (the proxy quarantines it too)\n`);
  }
  return { options, refused };
}

/** A watched vhosts file must never be seen half-written: write beside it (a dot file, ignored), then rename. */
async function writeOutput(file: string | undefined, text: string, io: Output): Promise<void> {
  if (file === undefined) {
    io.out(text);
    return;
  }
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text);
    await rename(temp, file);
  } catch (err) {
    throw new CliError('USAGE', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
