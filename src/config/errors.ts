// One error class for everything wrong with a config file. It carries every
// problem found, not just the first, so an operator fixes the file in one go.

export class ConfigError extends Error {
  readonly code = 'SY_CONFIG_INVALID';
  /** Each one reads "<file>: <json pointer or line/column>: <reason>". */
  readonly problems: string[];

  constructor(problems: string[], options?: { cause?: unknown }) {
    const list = problems.length > 0 ? problems : ['invalid configuration'];
    const head = list.length === 1 ? 'invalid configuration:' : `invalid configuration (${list.length} problems):`;
    super(`${head}\n  ${list.join('\n  ')}`, options);
    this.name = 'ConfigError';
    this.problems = list;
  }
}

/** The label used for a config that was not read from a file. */
export const NO_FILE = '<config>';

export function problem(file: string | null, pointer: string, reason: string): string {
  return `${file ?? NO_FILE}: ${pointer === '' ? '/' : pointer}: ${reason}`;
}
