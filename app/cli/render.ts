// How frontends and their changes are printed: a terraform-like plan, one
// block per host, with the backend list diffed line by line.

import { assertNever, type FrontendOptions, type FrontendSpec } from '../../src/vocabulary/events.js';
import { OPTION_NAMES, optionText, type ChangeCounts, type FrontendChange, type OptionsChange } from './diff.js';

export interface WeightedBackend {
  url: string;
  weight: number;
}

/**
 * A backend list as the vhosts file writes it: consecutive repetitions of a
 * URL become one entry with a weight. Repetitions that are not consecutive
 * stay separate entries, so expanding the weights gives back the exact list
 * (order included: dead marks are backend indexes).
 */
export function weightedRuns(backends: readonly string[]): WeightedBackend[] {
  const runs: WeightedBackend[] = [];
  for (const url of backends) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.url === url) last.weight++;
    else runs.push({ url, weight: 1 });
  }
  return runs;
}

export function formatBackend({ url, weight }: WeightedBackend): string {
  return weight === 1 ? url : `${url} (weight ${weight})`;
}

const SIGN: Record<FrontendChange['kind'], string> = { add: '+', change: '~', remove: '-', unchanged: ' ' };

/** One block per host; unchanged hosts are left out unless `unchanged` is set. */
export function renderChanges(changes: readonly FrontendChange[], { unchanged = false } = {}): string {
  return changes
    .filter((c) => unchanged || c.kind !== 'unchanged')
    .map(renderChange)
    .join('');
}

function renderChange(change: FrontendChange): string {
  const head = `${SIGN[change.kind]} ${change.key}`;
  switch (change.kind) {
    case 'add':
      return `${head}\n${describe(change.after!, '+')}`;
    case 'remove':
      return `${head}\n${describe(change.before!, '-')}`;
    case 'unchanged':
      return `${head} (unchanged)\n`;
    case 'change':
      return `${head}\n${describeChange(change.before!, change.after!)}`;
    default:
      return assertNever(change.kind);
  }
}

function describe(spec: FrontendSpec, sign: string): string {
  const runs = weightedRuns(spec.backends);
  const lines = [`      id: ${spec.id}`, ...optionLines(spec.options), `      backends:${runs.length === 0 ? ' none (requests get 502)' : ''}`];
  for (const run of runs) lines.push(`      ${sign}   ${formatBackend(run)}`);
  return lines.map((l) => `${l}\n`).join('');
}

function describeChange(before: FrontendSpec, after: FrontendSpec): string {
  const lines: string[] = [];
  if (before.id !== after.id) lines.push(`      id: ${before.id} -> ${after.id}`);
  for (const name of OPTION_NAMES) {
    const [a, b] = [optionText(before.options?.[name]), optionText(after.options?.[name])];
    if (a !== b) lines.push(`      ${name}: ${a ?? '(default)'} -> ${b ?? '(default)'}`);
  }
  const diff = diffRuns(weightedRuns(before.backends), weightedRuns(after.backends));
  if (diff.some(([sign]) => sign !== ' ')) {
    lines.push('      backends:');
    for (const [sign, run] of diff) lines.push(`      ${sign}   ${formatBackend(run)}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

function optionLines(options: FrontendOptions | undefined): string[] {
  return Object.entries(options ?? {}).map(([name, value]) => `      ${name}: ${optionText(value as FrontendOptions[keyof FrontendOptions])}`);
}

type DiffLine = [sign: ' ' | '-' | '+', run: WeightedBackend];

/** A line diff of two backend lists (longest common subsequence; the lists are short). */
export function diffRuns(a: readonly WeightedBackend[], b: readonly WeightedBackend[]): DiffLine[] {
  const same = (x: WeightedBackend, y: WeightedBackend) => x.url === y.url && x.weight === y.weight;
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = same(a[i]!, b[j]!) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && same(a[i]!, b[j]!)) out.push([' ', a[i++]!]), j++;
    // Removals before additions at a fork, as diff(1) prints them.
    else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(['-', a[i++]!]);
    else out.push(['+', b[j++]!]);
  }
  return out;
}

/** "2 to add, 1 to change, 0 to remove, 5 unchanged" (plan) or "2 added, ..." (applied). */
export function renderCounts(counts: ChangeCounts, tense: 'plan' | 'done'): string {
  const [add, change, remove] = tense === 'plan' ? ['to add', 'to change', 'to remove'] : ['added', 'changed', 'removed'];
  return `${counts.add} ${add}, ${counts.change} ${change}, ${counts.remove} ${remove}, ${counts.unchanged} unchanged`;
}

/** The options hashes import writes, as the Redis commands that write them: `~ options:<key>` then `DEL` and `HSET field value ...`. */
export function renderOptionChanges(changes: readonly OptionsChange[], names: { optionsKey(key: string): string }): string {
  const lines: string[] = [];
  for (const change of changes) {
    if (change.kind === 'unchanged') continue;
    const key = names.optionsKey(change.key);
    if (change.kind === 'delete') {
      lines.push(`- ${key}`, `      DEL ${key}`);
      continue;
    }
    lines.push(`${change.before === null ? '+' : '~'} ${key}`);
    if (change.before !== null) lines.push(`      DEL ${key}`);
    const fields = Object.entries(change.after ?? {}).map(([name, value]) => `${name} ${shellQuote(value)}`);
    lines.push(`      HSET ${key} ${fields.join(' ')}`);
  }
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}

/** A value as redis-cli takes it: quoted when it holds a space or a quote. */
function shellQuote(value: string): string {
  return /^[^\s'"]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
