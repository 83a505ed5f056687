// Path frontends in the vhosts file (SPEC §9): `paths` under a host becomes
// one frontend per prefix, keyed "<host><prefix>", checked like the host.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildVersion, type Version } from '../../adapters/file/version.js';
import { formatProblem } from '../../adapters/file/problems.js';

type Complete = Extract<Version, { kind: 'complete' }>;

function complete(text: string): Complete {
  const version = buildVersion([{ file: 'vhosts.yaml', text }]);
  assert.equal(version.kind, 'complete', `expected a complete version, got ${JSON.stringify(version)}`);
  return version as Complete;
}

describe('vhosts paths', () => {
  test('a host with paths: one frontend per prefix, options inherited, stripPrefix per path', () => {
    const version = complete(`vhosts:
  WWW.Example.com.:
    id: site
    hsts: 300
    backends: [http://127.0.0.1:1]
    paths:
      /api:
        backends: [http://127.0.0.1:2]
        stripPrefix: true
        hsts: 60
      /static/v1:
        id: assets
        backends: [{ url: "http://127.0.0.1:3", weight: 2 }]
`);
    assert.deepEqual([...version.frontends.keys()], ['www.example.com', 'www.example.com/api', 'www.example.com/static/v1']);
    assert.deepEqual(version.frontends.get('www.example.com/api'), {
      key: 'www.example.com/api',
      id: 'www.example.com/api',
      backends: ['http://127.0.0.1:2'],
      options: { hsts: 60, stripPrefix: true },
    });
    assert.deepEqual(version.frontends.get('www.example.com/static/v1'), {
      key: 'www.example.com/static/v1',
      id: 'assets',
      backends: ['http://127.0.0.1:3', 'http://127.0.0.1:3'],
      options: { hsts: 300 },
    });
  });

  test('a host may have paths only; a wildcard and the catch-all may have paths', () => {
    const version = complete(`vhosts:
  only.test:
    paths: { /a: { backends: [] } }
  "*.w.test":
    paths: { /b: { backends: [] } }
  "*":
    backends: []
    paths: { /c: { backends: [] } }
`);
    assert.deepEqual([...version.frontends.keys()], ['only.test/a', '*.w.test/b', '*', '*/c']);
  });

  test('a bad prefix quarantines its host, with where and why', () => {
    const version = complete(`vhosts:
  good.test:
    backends: []
  bad.test:
    backends: []
    paths:
      /api/:
        backends: []
      /a/../b:
        backends: []
  schema.test:
    paths:
      api:
        backends: []
      /x:
        backends: [ftp://nope]
        tls: { cert: a, key: b }
  empty.test: {}
  no-paths.test: { paths: {} }
`);
    assert.deepEqual([...version.frontends.keys()], ['good.test']);
    assert.deepEqual(version.invalid.get('bad.test')!.map(formatProblem), [
      'vhosts.yaml:7:7: /vhosts/bad.test/paths/~1api~1: "/api/" is not a path prefix: a path prefix does not end with "/" ("/api" matches "/api", "/api/" and "/api/...")',
      'vhosts.yaml:9:7: /vhosts/bad.test/paths/~1a~1..~1b: "/a/../b" is not a path prefix: a path prefix has no empty, "." or ".." segment',
    ]);
    assert.deepEqual(version.invalid.get('schema.test')!.map(formatProblem).sort(), [
      'vhosts.yaml:13:7: /vhosts/schema.test/paths/api: is not a path prefix: it starts with "/" ("/api")',
      'vhosts.yaml:16:20: /vhosts/schema.test/paths/~1x/backends/0: must be an http:// or https:// URL',
      'vhosts.yaml:17:9: /vhosts/schema.test/paths/~1x/tls: unknown key',
    ]);
    assert.deepEqual(version.invalid.get('empty.test')!.map(formatProblem), ['vhosts.yaml:18:3: /vhosts/empty.test: a host needs backends, paths, or both']);
    assert.deepEqual(version.invalid.get('no-paths.test')!.map(formatProblem), ['vhosts.yaml:19:3: /vhosts/no-paths.test: a host needs backends, paths, or both']);
  });

  test('stripPrefix belongs to a path, not to a host', () => {
    const version = complete('vhosts:\n  h.test:\n    backends: []\n    stripPrefix: true\n');
    assert.match(version.invalid.get('h.test')![0]!.reason, /unknown key/);
  });
});
