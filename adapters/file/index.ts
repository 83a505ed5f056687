// The file adapter's public entry: the only module of adapters/file that code
// outside it imports. The source a worker runs, and what the CLI needs to
// read and check vhosts files exactly as that source does.

export { FileSource, type FileSourceOptions, type FileSourceStatus } from './source.js';
export { readVhosts, type ReadResult } from './read.js';
export { checkVersion, type CheckedVersion, type FileText } from './version.js';
export { normalizeKey } from './frontend.js';
export { formatProblem, type FileProblem } from './problems.js';
