// Per-vhost options in Redis (SPEC §9): the hash `options:<frontend>`, one
// field per option of the vhosts file, each value JSON
// (`HSET options:www.example.com hsts 31536000 redirectHttps true id '"site"'`).
// The fields a frontend takes, and what each accepts, are read from the
// vhosts file's published schema (a host's options, or a path's: stripPrefix
// too), minus what a Hipache list or a tls: key says (backends, paths, tls):
// an option added to the schema is accepted here without a change.

import { Ajv, type ValidateFunction } from 'ajv';
import { prefixStart } from '../../src/frontends/path.js';
import { publishedSchema, schemaFindings } from '../../src/config/validate.js';
import type { FrontendOptions, FrontendSpec } from '../../src/vocabulary/events.js';

/** What an options hash sets: the frontend's options, and `id`, which replaces the list's identifier. */
export interface VhostOptions extends FrontendOptions {
  id?: string;
}

/** One refused field of an options hash. */
export interface OptionProblem {
  field: string;
  reason: string;
}

export type ParsedOptions = { ok: true; options: VhostOptions } | { ok: false; problems: OptionProblem[] };

/** The vhosts entry's properties that are not options: a list's backends, a host's paths, a certificate's own tls: key. */
const NOT_OPTIONS = new Set(['backends', 'paths', 'tls']);

interface OptionsValidator {
  fields: ReadonlySet<string>;
  validate: ValidateFunction;
}

let validators: { host: OptionsValidator; path: OptionsValidator } | undefined;

/** Compiled on first use from schema/vhosts.schema.json: a host's entry, and a path's under it. */
function optionValidators(): NonNullable<typeof validators> {
  if (validators === undefined) {
    const file = publishedSchema('vhosts.schema.json');
    const vhost = Object.values(file.properties.vhosts.patternProperties as Record<string, any>)[0];
    const path = Object.values(vhost.properties.paths.patternProperties as Record<string, any>)[0];
    const ajv = new Ajv({ allErrors: true, strict: true });
    validators = { host: optionsOf(ajv, vhost), path: optionsOf(ajv, path) };
  }
  return validators;
}

function optionsOf(ajv: Ajv, entry: { properties: Record<string, object> }): OptionsValidator {
  const properties = Object.fromEntries(Object.entries(entry.properties).filter(([name]) => !NOT_OPTIONS.has(name)));
  return { fields: new Set(Object.keys(properties)), validate: ajv.compile({ type: 'object', properties, additionalProperties: false }) };
}

/** The option names a frontend key takes: a host's, or with a path prefix a path's (stripPrefix too). */
export function optionFields(frontendKey: string): ReadonlySet<string> {
  const { host, path } = optionValidators();
  return (prefixStart(frontendKey) === -1 ? host : path).fields;
}

/**
 * The fields of `options:<frontendKey>` as options, or every field refused
 * and why: not JSON, not an option of that kind of frontend, or a value the
 * vhosts schema refuses.
 */
export function parseOptions(frontendKey: string, fields: Readonly<Record<string, string>>): ParsedOptions {
  const { host, path } = optionValidators();
  const { fields: known, validate } = prefixStart(frontendKey) === -1 ? host : path;
  const problems: OptionProblem[] = [];
  const value: Record<string, unknown> = {};
  for (const [field, text] of Object.entries(fields)) {
    if (!known.has(field)) {
      problems.push({ field, reason: unknownField(known, frontendKey) });
      continue;
    }
    try {
      value[field] = JSON.parse(text);
    } catch {
      problems.push({ field, reason: `not JSON (a string value needs its quotes: '"text"'): ${clip(text)}` });
    }
  }
  if (!validate(value)) {
    for (const { pointer, reason } of schemaFindings(validate.errors ?? [])) problems.push({ field: pointer.split('/')[1] ?? '', reason });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options: value as VhostOptions };
}

/** The hash fields that store `options` (import): each value as JSON. */
export function optionsHash(options: VhostOptions): Record<string, string> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined).map(([name, v]) => [name, JSON.stringify(v)]));
}

/**
 * The frontend served for `list` (a Hipache list as read: its id and
 * backends) given the options of its key (`own`) and, for a path frontend,
 * of its host level (`host`): as in the vhosts file, a path takes its host's
 * options and overrides those it sets, `id` excepted (it names one frontend).
 */
export function servedFrontend(list: FrontendSpec, own: VhostOptions | undefined, host: VhostOptions | undefined): FrontendSpec {
  const { id: _hostId, ...inherited } = prefixStart(list.key) === -1 ? {} : (host ?? {});
  const { id, ...options } = { ...inherited, ...own };
  const spec: FrontendSpec = { key: list.key, id: id ?? list.id, backends: list.backends };
  if (Object.keys(options).length > 0) spec.options = options;
  return spec;
}

function unknownField(known: ReadonlySet<string>, frontendKey: string): string {
  const kind = prefixStart(frontendKey) === -1 ? 'a host' : 'a path frontend';
  return `not an option of ${kind} (options: ${[...known].join(', ')})`;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
