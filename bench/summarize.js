#!/usr/bin/env node
// Re-prints the table of a finished (or interrupted) run from its raw results:
//   node bench/summarize.js bench/results/bench-<time>.jsonl

import { readFileSync } from 'node:fs';
import { report } from './lib/summary.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/summarize.js RESULTS.jsonl\n');
  process.exit(2);
}
const records = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
process.stdout.write(report(records));
