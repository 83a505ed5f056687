// The proxy's config file, read by the commands that need to know where Redis
// or the admin API is: the same file (and the same lookup: --config,
// SETTINGS_FLAVOR, config/config.json) as the running proxy.

import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile, resolveConfigPath } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { CliError } from './command.js';

/** The config named by --config, or found where the proxy looks; null when there is none. */
export function loadCliConfig(configPath: string | undefined): SwitchyardConfig | null {
  const path = resolveConfigPath({ configPath });
  if (path === null) return null;
  try {
    return loadConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError('CONFIG', `invalid configuration\n${err.problems.map((p) => `  ${p}`).join('\n')}`, { cause: err });
    throw err;
  }
}
