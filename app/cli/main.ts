import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/config/errors.js';
import { logger } from '../../src/log.js';
import { COMMANDS, findCommand } from './commands/registry.js';
import type { SwitchyardConfig } from '../../src/config/types.js';

const log = logger('cli');
const CONFIG_ENV = 'SWITCHYARD_WORKER_CONFIG';

/** The config a worker was forked with: already validated by the master, so no schema code is loaded here. */
function workerConfig(): SwitchyardConfig | null {
  const raw = process.env[CONFIG_ENV];
  return raw === undefined ? null : (JSON.parse(raw) as SwitchyardConfig);
}

const USAGE = `Usage: switchyard [--config FILE]
       switchyard <command> [options]   (switchyard <command> --help)

A dynamic HTTP/WebSocket reverse proxy, drop-in successor of Hipache.

Commands (GitOps tooling; exit status 0 ok, 1 findings, 2 usage or connection error):
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Options:
  -c, --config FILE   config file (Hipache 0.4 or pre-0.4 config.json format)
  -h, --help          show this help
  -v, --version       print the version

Without --config, config/config.json (or config/config_$SETTINGS_FLAVOR.json)
in the current directory is used when it exists. With no configuration at
all, the example vhosts (examples/vhosts.yaml) are served on 127.0.0.1:8080
($PORT), with a demo backend, and no Redis.

Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the config file
without dropping a connection; SIGUSR1 reopens the access log (logrotate).
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

async function main(): Promise<void> {
  if (cluster.isWorker) {
    const config = workerConfig();
    if (config === null) throw new Error('worker started without a configuration');
    // Loaded here only: the master never needs the proxy engine, and stays small.
    import('../workers/worker.js')
      .then(({ runWorker }) => runWorker(config, String(cluster.worker?.id ?? process.pid)))
      .catch((err: Error) => {
        log.error('worker failed to start', { error: err.message });
        process.exit(1);
      });
    return;
  }
  const command = findCommand(process.argv[2]);
  if (command !== undefined) {
    const { runCommand } = await import('./run.js');
    process.exitCode = await runCommand(command, process.argv.slice(3));
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  if (args.help) return void process.stdout.write(USAGE);
  if (args.version) return void process.stdout.write(`switchyard ${version()}\n`);
  const { loadConfig, resolveConfigPath } = await import('../../src/config/load.js');
  const { Master } = await import('../workers/master.js');
  const path = resolveConfigPath({ configPath: args.config });
  if (path === null) {
    // No config at all: the example mode (examples/vhosts.yaml and its demo backend).
    const demo = await import('./demo.js');
    const config = demo.demoConfig();
    await demo.startHelloBackend();
    new Master(config).start();
    return void process.stdout.write(demo.demoBanner(config));
  }
  const config = loadConfig({ configPath: path });
  new Master(config).start();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`switchyard: invalid configuration\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  throw err;
});
