// The file adapter's public entry: the only module of adapters/file that code
// outside it imports. The sources a worker runs (the vhosts, https.certDir),
// and what the CLI needs to read and check vhosts files exactly as the
// vhosts source does.

export { FileSource, type FileSourceOptions, type FileSourceStatus } from './source.js';
export { CertDirSource, type CertDirSourceOptions, type CertDirSourceStatus } from './certdir.js';
export { certificateProblems, type VhostTlsFiles } from './vhost-tls.js';
export { readVhosts, type ReadResult } from './read.js';
export { checkVersion, type CheckedVersion, type FileText } from './version.js';
export { normalizeKey } from './frontend.js';
export { formatProblem, type FileProblem } from './problems.js';
