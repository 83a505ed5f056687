// Finds the config file the way Hipache did (--config, SETTINGS_FLAVOR,
// config/config.json), then reads, validates and normalizes it. Everything
// wrong with it comes back as one ConfigError listing every problem.

import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ConfigFile } from '../../schema/config.schema.js';
import { ConfigError, problem } from './errors.js';
import { normalizeConfig } from './normalize.js';
import type { SwitchyardConfig } from './types.js';
import { parseJsonText, validateConfigObject } from './validate.js';

export interface LoadOptions {
  /** The --config argument, if any (relative to cwd). */
  configPath?: string;
  /** SETTINGS_FLAVOR is read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Default process.cwd(). */
  cwd?: string;
}

/**
 * The config file to load, as an absolute path, or null when there is none
 * (the caller then runs the no-config example mode). An explicitly requested
 * file is returned even when missing, so loading it reports that.
 */
export function resolveConfigPath(opts: LoadOptions = {}): string | null {
  const cwd = opts.cwd ?? process.cwd();
  const flavor = (opts.env ?? process.env)['SETTINGS_FLAVOR'] || undefined;
  if (opts.configPath !== undefined) {
    const given = resolve(cwd, opts.configPath);
    if (flavor === undefined) return given;
    // Hipache: the flavored file next to the given one wins when it exists.
    const flavored = join(dirname(given), flavorFile(flavor));
    return existsSync(flavored) ? flavored : given;
  }
  if (flavor !== undefined) return resolve(cwd, 'config', flavorFile(flavor));
  const fallback = resolve(cwd, 'config', 'config.json');
  return existsSync(fallback) ? fallback : null;
}

/** Resolves, reads and validates the config; throws ConfigError when none is found. */
export function loadConfig(opts: LoadOptions = {}): SwitchyardConfig {
  const file = resolveConfigPath(opts);
  if (file === null) {
    throw new ConfigError(['no config file: pass --config <file>, or create config/config.json']);
  }
  return loadConfigFile(file);
}

/** Reads one config file (an absolute or cwd-relative path); also used to reload on SIGHUP. */
export function loadConfigFile(file: string): SwitchyardConfig {
  const origin = resolve(file);
  let text: string;
  try {
    text = readFileSync(origin, 'utf8');
  } catch (err) {
    throw new ConfigError([`${origin}: cannot read the config file: ${errorReason(err)}`], { cause: err });
  }
  return configFromObject(parseJsonText(text, origin), { origin, baseDir: dirname(origin) });
}

/**
 * Validates an already parsed config (from a file, a test or the example mode)
 * and checks that the TLS files it names can be read.
 */
export function configFromObject(value: unknown, opts: { origin: string | null; baseDir: string }): SwitchyardConfig {
  const raw = validateConfigObject(value, opts.origin);
  const config = normalizeConfig(raw, opts);
  const problems = tlsFileProblems(raw, config, opts.origin);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

// Caught here rather than when a worker starts its HTTPS listener: a missing
// certificate is a config mistake and must stop start-up (and a SIGHUP reload).
function tlsFileProblems(raw: ConfigFile, config: SwitchyardConfig, origin: string | null): string[] {
  if (config.https === null) return [];
  const base = raw.https != null ? '/https' : '/server/https';
  const caIsList = Array.isArray(raw.https?.ca ?? raw.server?.https?.ca);
  const files: Array<[pointer: string, path: string]> = [
    [`${base}/key`, config.https.key],
    [`${base}/cert`, config.https.cert],
    ...(config.https.ca ?? []).map((path, i): [string, string] => [caIsList ? `${base}/ca/${i}` : `${base}/ca`, path]),
  ];
  const problems = files.flatMap(([pointer, path]) => {
    const reason = unreadable(path, 'file');
    return reason === null ? [] : [problem(origin, pointer, `cannot read "${path}": ${reason}`)];
  });
  // The directory must be there; the files in it are the certDir source's business (a bad one is quarantined, not fatal).
  const certDir = config.https.certDir;
  const reason = certDir === null ? null : unreadable(certDir, 'directory');
  if (reason !== null) problems.push(problem(origin, `${base}/certDir`, `cannot read "${certDir}": ${reason}`));
  return problems;
}

function unreadable(path: string, kind: 'file' | 'directory'): string | null {
  try {
    const info = statSync(path);
    if (kind === 'file' ? !info.isFile() : !info.isDirectory()) return `not a ${kind}`;
    accessSync(path, kind === 'file' ? constants.R_OK : constants.R_OK | constants.X_OK);
    return null;
  } catch (err) {
    return errorReason(err);
  }
}

function flavorFile(flavor: string): string {
  return `config_${flavor}.json`;
}

function errorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}
