// Runs one subcommand to its exit code. A CliError is an expected way to end
// (bad arguments, Redis down): one line on stderr, exit 2. Anything else is a
// bug: its stack, and exit 2 too, so a crash is never read as "findings" (1).

import { CliError, EXIT_OK, EXIT_USAGE, processOutput, type Output } from './command.js';
import type { COMMANDS } from './commands/registry.js';

export async function runCommand(entry: (typeof COMMANDS)[number], argv: string[], io: Output = processOutput): Promise<number> {
  try {
    const command = await entry.load();
    // Every command answers --help the same way, before its own argument checks.
    if (argv.includes('--help') || argv.includes('-h')) {
      io.out(command.usage);
      return EXIT_OK;
    }
    return await command.run(argv, io);
  } catch (err) {
    if (err instanceof CliError) io.err(`switchyard ${entry.name}: ${err.message}\n`);
    else io.err(`switchyard ${entry.name}: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_USAGE;
  }
}
