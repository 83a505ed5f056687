// Everything wrong with a vhosts file is a value with a stable code and a
// location an operator can jump to (`file:line:column`), never a thrown string.

export type FileProblemCode =
  /** The file is not YAML/JSON (syntax). */
  | 'FILE_PARSE'
  /** The document does not match schema/vhosts.schema.json. */
  | 'FILE_SCHEMA'
  /** A backend passes the schema but is not a usable http(s) URL. */
  | 'FILE_BACKEND'
  /** A vhost's `tls` certificate cannot be served (unreadable, unparsable, key mismatch, expired, not covering the host). */
  | 'FILE_CERTIFICATE'
  /** The same host is defined twice (in one file or in two). */
  | 'FILE_DUPLICATE_HOST'
  /** The configured path does not exist (deleted, or not created yet). */
  | 'FILE_MISSING'
  /** The file or directory exists but cannot be read. */
  | 'FILE_READ';

export interface FileProblem {
  code: FileProblemCode;
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number;
  column: number;
  /** JSON pointer into the document ("" for the whole document). */
  path: string;
  reason: string;
  /** The host the problem is confined to, when it is (that host is quarantined, not the version). */
  host?: string;
}

/** `file:line:column: /json/path: reason`, the form editors and terminals link. */
export function formatProblem(p: FileProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return `${where}: ${p.path === '' ? '/' : p.path}: ${p.reason}`;
}

/** Log fields for one problem, so a log line carries file, line, column, path and reason. */
export function problemFields(p: FileProblem): Record<string, unknown> {
  return { code: p.code, file: p.file, line: p.line, column: p.column, path: p.path === '' ? '/' : p.path, reason: p.reason, host: p.host };
}

/** Splits a JSON pointer into its unescaped segments ("/a~1b/0" -> ["a/b", "0"]). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function pointerOf(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
