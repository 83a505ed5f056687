// What every `switchyard <command>` shares: its exit codes, where it writes,
// and the one error type that ends a command with a message instead of a
// stack trace.

/** Everything went as asked (validate: no problem; plan: no change unless told otherwise). */
export const EXIT_OK = 0;
/** The command ran and found something: problems in a file, or changes with --exit-code. */
export const EXIT_FINDINGS = 1;
/** The command could not run: wrong arguments, unreadable config, unreachable Redis or admin API. */
export const EXIT_USAGE = 2;

export type ExitCode = typeof EXIT_OK | typeof EXIT_FINDINGS | typeof EXIT_USAGE;

/** Where a command writes: results on `out`, diagnostics on `err` (so `export > file` stays clean). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export interface Command {
  name: string;
  /** The full `--help` text. */
  usage: string;
  run(argv: string[], io: Output): Promise<ExitCode>;
}

export type CliErrorCode =
  /** Wrong or missing arguments. */
  | 'USAGE'
  /** The config file named (or found) is invalid. */
  | 'CONFIG'
  /** The vhosts path cannot be read at all. */
  | 'UNREADABLE'
  /** Redis or the admin API cannot be reached, or refused us. */
  | 'CONNECT'
  /** Redis or the admin API answered something we cannot use. */
  | 'PROTOCOL';

/** Ends a command with `switchyard <command>: <message>` on stderr and exit code 2. */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
