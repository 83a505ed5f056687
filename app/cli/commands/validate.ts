// `switchyard validate <file-or-dir>`: the proxy's own checks, run ahead of
// time (pre-commit hook, CI). A problem the proxy would only quarantine one
// host for still fails here: CI is where it should be fixed.

import { formatProblem } from '../../../adapters/file/index.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_FINDINGS, EXIT_OK, plural, type Command, type ExitCode, type Output } from '../command.js';
import { hostCount, loadVhostsTree, warnIgnored, type VhostsTree } from '../vhosts.js';

const USAGE = `Usage: switchyard validate <file-or-dir>

Checks a vhosts file, or every *.yaml, *.yml and *.json file directly in a
directory, exactly as the running proxy would: YAML/JSON syntax, the schema
(schema/vhosts.schema.json), usable backend URLs, a host defined twice
(in one file or across files), and the certificate files a host's \`tls\`
names (readable, parsable, the key matching, not expired, covering the host).
Every problem is printed as
  file:line:column: /json/path: reason

Exit status: 0 valid ("ok: N hosts in M files"), 1 any problem (including
one the proxy would confine to a single host), 2 the path cannot be read or
wrong arguments. Usable as a pre-commit hook or a CI step.

Options:
  -h, --help   show this help
`;

export const command: Command = {
  name: 'validate',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandArgs(argv, {}, ['file-or-dir']);
    const tree = await loadVhostsTree(args.positionals[0]!);
    warnIgnored(tree, io);
    return report(tree, io);
  },
};

function report(tree: VhostsTree, io: Output): ExitCode {
  if (tree.files.length === 0) io.err(`warning: ${tree.path} holds no *.yaml, *.yml or *.json file: the proxy would serve no host from it\n`);
  if (tree.problems.length === 0) {
    io.out(`ok: ${plural(hostCount(tree), 'host')} in ${plural(tree.files.length, 'file')}\n`);
    return EXIT_OK;
  }
  for (const problem of tree.problems) io.out(`${formatProblem(problem)}\n`);
  const files = new Set(tree.problems.map((p) => p.file)).size;
  io.out(`invalid: ${plural(tree.problems.length, 'problem')} in ${plural(files, 'file')} (of ${plural(tree.files.length, 'file')} read)\n`);
  return EXIT_FINDINGS;
}
