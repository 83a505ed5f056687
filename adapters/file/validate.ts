// Checks a parsed vhosts document against schema/vhosts.schema.json and sorts
// what is wrong into two kinds: problems confined to one host (that host is
// quarantined, the others apply) and problems with the document itself (the
// whole version is rejected, since which hosts it defines is not known).

import { Ajv, type ValidateFunction } from 'ajv';
import type { Vhost } from '../../schema/vhosts.schema.js';
import { publishedSchema, schemaFindings, type SchemaFinding } from '../../src/config/validate.js';
import type { VhostsDocument } from './document.js';
import { pointerOf, pointerSegments, type FileProblem } from './problems.js';

let validators: { validateFile: ValidateFunction; isVhost: ValidateFunction<Vhost> } | undefined;

/**
 * Compiled on first use from schema/vhosts.schema.json (generated from the
 * TypeBox source; a unit test keeps them equal), so that a worker serving a
 * vhosts file does not load TypeBox's runtime.
 */
function vhostsValidators(): NonNullable<typeof validators> {
  if (validators === undefined) {
    const fileSchema = publishedSchema('vhosts.schema.json');
    const vhostSchema = Object.values(fileSchema.properties.vhosts.patternProperties as Record<string, object>)[0]!;
    // verbose: the shared unknown-key message reads the parent schema to suggest a name.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    validators = { validateFile: ajv.compile(fileSchema), isVhost: ajv.compile<Vhost>(vhostSchema) };
  }
  return validators;
}

export interface CheckedEntry {
  /** The key as written in the file. */
  key: string;
  /** Null when the entry has problems. */
  vhost: Vhost | null;
  problems: FileProblem[];
}

export interface CheckedDocument {
  /** Problems with the document as a whole: the version is rejected. */
  fatal: FileProblem[];
  /** Every vhost entry, in file order. */
  entries: CheckedEntry[];
}

export function checkDocument(doc: VhostsDocument): CheckedDocument {
  const { validateFile, isVhost } = vhostsValidators();
  const byHost = new Map<string, FileProblem[]>();
  const fatal: FileProblem[] = [];
  const findings = validateFile(doc.value) ? [] : schemaFindings(validateFile.errors ?? []);
  for (const finding of findings) {
    const problem = toProblem(doc, finding);
    if (problem.host === undefined) fatal.push(problem);
    else byHost.set(problem.host, [...(byHost.get(problem.host) ?? []), problem]);
  }
  const vhosts = (doc.value as { vhosts?: unknown } | null)?.vhosts;
  if (fatal.length > 0 || !isPlainObject(vhosts)) return { fatal, entries: [] };
  const entries = Object.entries(vhosts).map(([key, entry]): CheckedEntry => {
    const problems = byHost.get(key) ?? [];
    // isVhost cannot fail when the full schema found nothing under this key; it narrows the type.
    return { key, vhost: problems.length === 0 && isVhost(entry) ? entry : null, problems };
  });
  return { fatal, entries };
}

function toProblem(doc: VhostsDocument, finding: SchemaFinding): FileProblem {
  const segments = pointerSegments(finding.pointer);
  const host = segments[0] === 'vhosts' && segments.length >= 2 ? segments[1] : undefined;
  const { error } = finding;
  const badKey = error.keyword === 'additionalProperties' || error.keyword === 'required';
  const { line, column } = doc.locate(finding.pointer, badKey);
  return { code: 'FILE_SCHEMA', file: doc.file, line, column, path: pointerOf(segments), reason: reasonOf(finding), host };
}

/** ajv's wording, except where it would show the user a regular expression. */
function reasonOf({ error, reason }: SchemaFinding): string {
  if (error.keyword === 'additionalProperties' && error.instancePath === '/vhosts') {
    return 'is not a host: use an exact host ("www.example.com"), a wildcard ("*.example.com") or "*"';
  }
  if (error.keyword === 'additionalProperties' && error.instancePath.endsWith('/paths')) {
    return 'is not a path prefix: it starts with "/" ("/api")';
  }
  // The patterns inside a vhost: a sticky cookie's name, and the backend URL's.
  if (error.keyword === 'pattern' && error.instancePath.endsWith('/sticky/cookie')) {
    return 'must be a cookie name: 1 to 64 letters, digits or !#$%&\'*+-.^_`|~';
  }
  if (error.keyword === 'pattern') return 'must be an http:// or https:// URL';
  return reason;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
