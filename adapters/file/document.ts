// A vhosts file parsed with `yaml` (JSON files too: JSON is YAML 1.2), kept
// together with its syntax tree so that a JSON pointer from a schema error can
// be turned back into the line and column the user typed it at.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { pointerSegments, type FileProblem } from './problems.js';

export interface Position {
  line: number;
  column: number;
}

export interface VhostsDocument {
  file: string;
  /** The document as plain data (maps as objects). */
  value: unknown;
  /**
   * Where the value at `pointer` is written (its key with `atKey`, e.g. for an
   * unknown key); the nearest existing ancestor when it is absent.
   */
  locate(pointer: string, atKey?: boolean): Position;
}

export type ParseResult = { ok: true; doc: VhostsDocument } | { ok: false; problems: FileProblem[] };

export function parseVhostsText(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter(); // one per parse: it accumulates line starts
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((err): FileProblem => {
      const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
      return { code: 'FILE_PARSE', file, line: pos.line, column: pos.col, path: '', reason: syntaxReason(err.message) };
    });
    return { ok: false, problems };
  }
  const locate = (pointer: string, atKey = false): Position => {
    const { line, col } = lineCounter.linePos(offsetOf(doc, pointerSegments(pointer), atKey));
    return { line, column: col };
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml refuses to expand an alias bomb (a billion laughs) here, not while parsing.
    return { ok: false, problems: [{ code: 'FILE_PARSE', file, line: 1, column: 1, path: '', reason: `invalid YAML: ${(err as Error).message}` }] };
  }
  return { ok: true, doc: { file, value, locate } };
}

/** yaml's pretty messages end with " at line L, column C:" and a code excerpt; the location is reported separately. */
function syntaxReason(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return `invalid YAML: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

/** Start offset of the node at `segments`, walking down as far as the tree goes. */
function offsetOf(doc: Document, segments: string[], atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, segment] of segments.entries()) {
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => String(isScalar(p.key) ? p.key.value : p.key) === segment);
      if (pair === undefined) break;
      // Point at the value when there is one; at the key for `key:` with nothing after it.
      const last = i === segments.length - 1;
      offset = (last && atKey ? undefined : rangeStart(pair.value)) ?? rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item: unknown = node.items[Number(segment)];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  // A null scalar for `key:` has an empty range at the end of the line: not a useful place.
  if (range == null || (isScalar(node) && node.value === null && range[0] === range[1])) return undefined;
  return range[0];
}
