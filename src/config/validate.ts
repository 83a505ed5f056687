// Turns config text into a schema-valid ConfigFile, or into a ConfigError that
// lists every problem with a location an operator can jump to: line and column
// for JSON syntax, a JSON pointer (/server/workers) for schema violations.

import { existsSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigFile } from '../../schema/config.schema.js';
import { ConfigError, problem } from './errors.js';

let validateConfigFile: ValidateFunction<ConfigFile> | undefined;

/**
 * Compiled on first use from schema/config.schema.json, the schema published
 * for editors (generated from the TypeBox source, which a unit test keeps it
 * equal to). Reading the JSON spares the master TypeBox's runtime (about 200
 * modules); compiling late spares the vhosts file adapter, which shares
 * schemaFindings, a validator it never uses.
 */
function configValidator(): ValidateFunction<ConfigFile> {
  if (validateConfigFile === undefined) {
    // verbose: the unknown-key message needs the parent schema to suggest a name.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    validateConfigFile = ajv.compile<ConfigFile>(publishedSchema('config.schema.json'));
  }
  return validateConfigFile;
}

/** A schema from schema/: two levels above this file in src/config, three in dist/src/config. */
export function publishedSchema(file: string): Record<string, any> {
  for (const up of ['../../', '../../../']) {
    const url = new URL(`${up}schema/${file}`, import.meta.url);
    if (existsSync(url)) return JSON.parse(readFileSync(url, 'utf8')) as Record<string, any>;
  }
  throw new Error(`schema/${file} is missing from the installation`);
}

export function parseJsonText(text: string, file: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(body);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const { line, column } = lineColumn(body, syntaxErrorOffset(body, message));
    const reason = message.replace(/,? in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError([`${file}: line ${line}, column ${column}: invalid JSON: ${reason}`], { cause: err });
  }
}

export function validateConfigObject(value: unknown, file: string | null): ConfigFile {
  const validate = configValidator();
  if (validate(value)) return value;
  throw new ConfigError(schemaProblems(validate.errors ?? [], file));
}

/** One line per problem; the noise of alternatives (anyOf) is folded into one reason. */
export function schemaProblems(errors: readonly ErrorObject[], file: string | null): string[] {
  const lines = schemaFindings(errors).map(({ pointer, reason }) => problem(file, pointer, reason));
  return [...new Set(lines)];
}

export interface SchemaFinding {
  /** JSON pointer of the offending value (for an unknown or missing key: that key). */
  pointer: string;
  reason: string;
  error: ErrorObject;
}

/** The ajv errors as located findings, alternatives folded; shared with the vhosts file adapter. */
export function schemaFindings(errors: readonly ErrorObject[]): SchemaFinding[] {
  return foldAlternatives(errors).map(({ error, reason }) => {
    const located = locate(error);
    return { pointer: located.pointer, reason: reason ?? located.reason, error };
  });
}

interface Folded {
  error: ErrorObject;
  reason?: string;
}

// For `string | string[]` or `T | null`, ajv reports a failure in every branch.
// When the value had the type of some branch, only that branch's errors matter;
// when it matched no branch at all, one "must be A or B" says it best.
function foldAlternatives(errors: readonly ErrorObject[]): Folded[] {
  const dropped = new Set<ErrorObject>();
  const reasons = new Map<ErrorObject, string>();
  const alternatives = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const any of alternatives) {
    const branch = errors.filter((e) => !dropped.has(e) && e.schemaPath.startsWith(`${any.schemaPath}/`));
    const mismatches = branch.filter((e) => (e.keyword === 'type' || e.keyword === 'const') && e.instancePath === any.instancePath);
    for (const e of mismatches) dropped.add(e);
    if (branch.length > mismatches.length) dropped.add(any);
    else reasons.set(any, `must be ${describeAlternatives(mismatches)}`);
  }
  return errors.filter((e) => !dropped.has(e)).map((error) => ({ error, reason: reasons.get(error) }));
}

function describeAlternatives(mismatches: ErrorObject[]): string {
  const consts = mismatches.filter((e) => e.keyword === 'const').map((e) => JSON.stringify(e.params['allowedValue']));
  const types = mismatches.filter((e) => e.keyword === 'type').map((e) => String(e.params['type']));
  const all = [...new Set([...types, ...consts])];
  return consts.length > 1 && types.length === 0 ? `one of ${all.join(', ')}` : all.join(' or ');
}

function locate(e: ErrorObject): { pointer: string; reason: string } {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params['additionalProperty']);
      return { pointer: `${e.instancePath}/${escapePointer(key)}`, reason: `unknown key${suggestion(key, e.parentSchema)}` };
    }
    case 'required':
      return { pointer: `${e.instancePath}/${escapePointer(String(e.params['missingProperty']))}`, reason: 'is required' };
    case 'type':
      return { pointer: e.instancePath, reason: `must be ${String(e.params['type'])}` };
    default:
      return { pointer: e.instancePath, reason: e.message ?? `fails "${e.keyword}"` };
  }
}

function suggestion(key: string, parentSchema: unknown): string {
  const properties = (parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const close = Object.keys(properties).find((name) => editDistance(key.toLowerCase(), name.toLowerCase()) <= 2);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

// Node 20 leaves the position out of some JSON.parse messages ("Unexpected
// token"), so it is found again: the shortest prefix of the text that already
// fails for a reason other than ending too early ends with the culprit.
function syntaxErrorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  if (/end of JSON input/.test(message)) return text.length;
  let fine = 0;
  let broken = text.length;
  while (broken - fine > 1) {
    const mid = Math.floor((fine + broken) / 2);
    if (prefixIsBroken(text.slice(0, mid))) broken = mid;
    else fine = mid;
  }
  return broken - 1;
}

function prefixIsBroken(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return false;
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (/end of JSON input|Unterminated/.test(message)) return false;
    const at = /at position (\d+)/.exec(message);
    return !at || Number(at[1]) < prefix.length;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
