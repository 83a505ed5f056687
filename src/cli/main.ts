import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { logger } from '../log.js';
import { Master, workerConfig } from '../workers/master.js';
import { runWorker } from '../workers/worker.js';

const log = logger('cli');

const USAGE = `Usage: switchyard [--config FILE]

A dynamic HTTP/WebSocket reverse proxy, drop-in successor of Hipache.

Options:
  -c, --config FILE   config file (Hipache 0.4 or pre-0.4 config.json format)
  -h, --help          show this help
  -v, --version       print the version

Without --config, config/config.json (or config/config_$SETTINGS_FLAVOR.json)
in the current directory is used when it exists.

Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the config file
without dropping a connection.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parseArgs(argv: string[]): { config?: string; help: boolean; version: boolean } {
  const out: { config?: string; help: boolean; version: boolean } = { help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') out.help = true;
    else if (arg === '-v' || arg === '--version') out.version = true;
    else if (arg === '-c' || arg === '--config') {
      const value = argv[++i];
      if (value === undefined) throw new ConfigError([`${arg} needs a file name`]);
      out.config = value;
    } else if (arg.startsWith('--config=')) out.config = arg.slice(9);
    else throw new ConfigError([`unknown argument: ${arg} (see --help)`]);
  }
  return out;
}

function main(): void {
  if (cluster.isWorker) {
    const config = workerConfig();
    if (config === null) throw new Error('worker started without a configuration');
    runWorker(config, String(cluster.worker?.id ?? process.pid)).catch((err: Error) => {
      log.error('worker failed to start', { error: err.message });
      process.exit(1);
    });
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  if (args.help) return void process.stdout.write(USAGE);
  if (args.version) return void process.stdout.write(`switchyard ${version()}\n`);
  const path = resolveConfigPath({ configPath: args.config });
  if (path === null) {
    process.stderr.write(
      'switchyard: no configuration found.\n' +
        '  Start with a config file:  switchyard --config config.json\n' +
        '  (see examples/config.json; any Hipache config.json works as is)\n',
    );
    process.exit(2);
  }
  const config = loadConfig({ configPath: path });
  new Master(config).start();
}

try {
  main();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`switchyard: invalid configuration\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  throw err;
}
