// The subcommands `switchyard <command>` dispatches to, loaded on demand so
// the proxy itself (`switchyard --config ...`) loads none of them.

import type { Command } from '../command.js';

interface Entry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly Entry[] = [
  { name: 'validate', summary: 'check a vhosts file or directory as the proxy would (CI, pre-commit)', load: async () => (await import('./validate.js')).command },
  { name: 'plan', summary: 'show what a vhosts file would change on a running instance', load: async () => (await import('./plan.js')).command },
  { name: 'explain', summary: 'show which rule, source and backends serve a host on a running instance', load: async () => (await import('./explain.js')).command },
  { name: 'export', summary: 'write the frontends stored in Redis as a vhosts YAML document', load: async () => (await import('./export.js')).command },
  { name: 'import', summary: 'load a vhosts file into Redis (dry run unless --apply)', load: async () => (await import('./import.js')).command },
];

export function findCommand(name: string | undefined): Entry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
