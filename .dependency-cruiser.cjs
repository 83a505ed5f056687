// The layers and their one-way imports (docs/architecture.md), checked in CI
// by `npm run check:layers` (part of `npm test`):
//
//   app/       master and workers, CLI, admin API    may import adapters' entries and the core
//   adapters/  ConfigSource implementations          may import the core's vocabulary, frontends, config, log
//   src/       the core: vocabulary (a leaf), frontends, config, routing table, proxy engine
//   schema/    JSON Schemas                           imports nothing of the project
//
// Tests (test/) may reach any module, internals included: that is what unit tests are for.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle means two modules are one; type-only imports count too.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'vocabulary-is-a-leaf',
      severity: 'error',
      comment: 'Events, the ConfigSource contract and dead-mark reports are what every layer speaks: they import nothing of the project.',
      from: { path: '^src/vocabulary/' },
      to: { path: '^(src|adapters|app|schema)/', pathNot: '^src/vocabulary/' },
    },
    {
      name: 'frontends-only-on-vocabulary',
      severity: 'error',
      comment: 'The compact frontend storage is shared by sources (snapshots) and the table: it sits just above the vocabulary.',
      from: { path: '^src/frontends/' },
      to: { path: '^(src|adapters|app|schema)/', pathNot: '^src/(vocabulary|frontends)/' },
    },
    {
      name: 'certificate-checks-on-vocabulary',
      severity: 'error',
      comment: 'Checking a certificate is shared by the sources (before they emit it) and the engine: it sits just above the vocabulary.',
      from: { path: '^src/tls/' },
      to: { path: '^(src|adapters|app|schema)/', pathNot: '^src/(vocabulary|tls)/' },
    },
    {
      name: 'merging-knows-only-the-contract',
      severity: 'error',
      comment: 'Merging sources needs nothing but the ConfigSource contract.',
      from: { path: '^src/sources/' },
      to: { path: '^(src|adapters|app|schema)/', pathNot: '^src/(vocabulary|sources)/' },
    },
    {
      name: 'routing-below-proxy',
      severity: 'error',
      comment: 'The routing table is a projection of events; the engine reads it, never the other way round.',
      from: { path: '^src/routing/' },
      to: { path: '^src/(proxy|config)/' },
    },
    {
      name: 'config-apart-from-engine',
      severity: 'error',
      comment: 'Loading and validating config.json knows nothing of routing or proxying.',
      from: { path: '^src/config/' },
      to: { path: '^src/(routing|proxy|frontends)/' },
    },
    {
      name: 'core-below-adapters',
      severity: 'error',
      comment: 'The core never imports an adapter or an application.',
      from: { path: '^src/' },
      to: { path: '^(adapters|app)/' },
    },
    {
      name: 'adapters-below-apps',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^app/' },
    },
    {
      name: 'sources-never-read-the-table',
      severity: 'error',
      comment: 'A ConfigSource only emits events: it does not read the routing table, nor use the proxy engine.',
      from: { path: '^adapters/' },
      to: { path: '^src/(routing|proxy)/' },
    },
    {
      name: 'adapters-apart',
      severity: 'error',
      comment: 'Each adapter stands alone; merging sources is the core and the applications\' business.',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/', pathNot: '^adapters/$1/' },
    },
    {
      name: 'adapter-public-entry',
      severity: 'error',
      comment: 'Outside an adapter, only its index.ts is imported: its internals can change freely.',
      from: { path: '^(src|app|schema|scripts)/' },
      to: { path: '^adapters/[^/]+/', pathNot: '^adapters/[^/]+/index\\.ts$' },
    },
    {
      name: 'schema-is-a-leaf',
      severity: 'error',
      from: { path: '^schema/' },
      to: { path: '^(src|adapters|app|scripts)/' },
    },
    {
      name: 'nothing-imports-tests',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'resolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-dependencies-at-run-time',
      severity: 'error',
      comment: 'npm ci --omit=dev must give a working proxy.',
      from: { path: '^(src|adapters|app|schema)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
