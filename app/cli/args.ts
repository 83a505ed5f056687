// Command-line parsing for the subcommands, on node:util's parseArgs (strict:
// an unknown option or a missing value is a usage error, never ignored).

import { parseArgs } from 'node:util';
import { CliError } from './command.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface ParsedArgs {
  positionals: string[];
  string(name: string): string | undefined;
  flag(name: string): boolean;
}

/**
 * Parses `argv` against `options`. Positional arguments are checked against
 * `names` (their count and, for the usage error, their names). --help never
 * gets here: runCommand answers it for every command.
 */
export function parseCommandArgs(argv: string[], options: OptionSpec, names: string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message.split('\n')[0]} (see --help)`, { cause: err });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (parsed.positionals.length < names.length) {
    throw new CliError('USAGE', `missing ${names.slice(parsed.positionals.length).map((n) => `<${n}>`).join(' ')} (see --help)`);
  }
  if (parsed.positionals.length > names.length) {
    throw new CliError('USAGE', `unexpected argument: ${parsed.positionals[names.length]} (see --help)`);
  }
  return {
    positionals: parsed.positionals,
    string: (name) => (typeof values[name] === 'string' ? (values[name] as string) : undefined),
    flag: (name) => values[name] === true,
  };
}

/** Refuses two options that name the same thing in two ways (e.g. --admin and --config). */
export function exclusive(args: ParsedArgs, a: string, b: string): void {
  if (args.string(a) !== undefined && args.string(b) !== undefined) {
    throw new CliError('USAGE', `--${a} and --${b} cannot be used together (see --help)`);
  }
}
