// The vhosts file format: the published JSON Schema, and how one version of
// the files becomes frontends, quarantined hosts or a rejection with a
// location (file, line, column, JSON path).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildVersion, type FileText, type Version } from '../../adapters/file/version.js';
import { formatProblem, type FileProblem } from '../../adapters/file/problems.js';
import { VhostsFileSchema } from '../../schema/vhosts.schema.js';
import { repoRoot } from '../helpers/switchyard.js';

type Complete = Extract<Version, { kind: 'complete' }>;

function complete(files: FileText[] | string): Complete {
  const version = buildVersion(typeof files === 'string' ? [{ file: 'vhosts.yaml', text: files }] : files);
  assert.equal(version.kind, 'complete', `expected a complete version, got ${JSON.stringify(version)}`);
  return version as Complete;
}

function rejected(text: string, file = 'vhosts.yaml'): FileProblem[] {
  const version = buildVersion([{ file, text }]);
  assert.equal(version.kind, 'rejected', `expected a rejection, got ${JSON.stringify(version)}`);
  return (version as Extract<Version, { kind: 'rejected' }>).problems;
}

/** The problems of one quarantined host, as `file:line:column: path: reason` lines. */
function quarantined(version: Complete, key: string): string[] {
  const problems = version.invalid.get(key);
  assert.ok(problems, `expected ${key} to be quarantined; invalid: ${[...version.invalid.keys()].join(', ')}`);
  return problems.map(formatProblem);
}

describe('vhosts schema', () => {
  test('schema/vhosts.schema.json is generated from the TypeBox source (run scripts/gen-schemas.ts)', () => {
    const published = JSON.parse(readFileSync(join(repoRoot, 'schema', 'vhosts.schema.json'), 'utf8'));
    assert.deepEqual(published, JSON.parse(JSON.stringify(VhostsFileSchema)));
  });

  test('the SPEC example: weights become repetitions, id defaults to the host, wildcards and * are keys', () => {
    const version = complete(`
# yaml-language-server: $schema=../schema/vhosts.schema.json
vhosts:
  www.example.com:
    id: mywebsite
    backends:
      - http://192.168.0.42:80
      - url: http://192.168.0.43:80
        weight: 2
  "*.example.com":
    backends: [http://10.0.0.1:8080]
  "*":
    backends: [http://10.0.0.9:8080]
`);
    assert.deepEqual([...version.frontends.values()], [
      { key: 'www.example.com', id: 'mywebsite', backends: ['http://192.168.0.42:80', 'http://192.168.0.43:80', 'http://192.168.0.43:80'] },
      { key: '*.example.com', id: '*.example.com', backends: ['http://10.0.0.1:8080'] },
      { key: '*', id: '*', backends: ['http://10.0.0.9:8080'] },
    ]);
    assert.equal(version.invalid.size, 0);
  });

  test('examples/vhosts.yaml is valid and names its schema', () => {
    const text = readFileSync(join(repoRoot, 'examples', 'vhosts.yaml'), 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\.\.\/schema\/vhosts\.schema\.json$/m);
    const version = complete([{ file: 'examples/vhosts.yaml', text }]);
    assert.deepEqual([...version.frontends.keys()], ['www.example.com', '*.example.com', '*']);
  });

  test('per-vhost options, $schema, JSON files, case and a trailing dot in keys', () => {
    const version = complete([
      {
        file: 'vhosts.json',
        text: JSON.stringify({
          $schema: '../schema/vhosts.schema.json',
          vhosts: { 'API.Example.com.': { backends: ['https://10.0.0.1:8443/base'], tcpTimeout: 2.5, retryOnError: 0 }, empty: { backends: [] } },
        }),
      },
    ]);
    assert.deepEqual(version.frontends.get('api.example.com'), {
      key: 'api.example.com',
      id: 'api.example.com',
      backends: ['https://10.0.0.1:8443/base'],
      options: { tcpTimeout: 2.5, retryOnError: 0 },
    });
    assert.deepEqual(version.frontends.get('empty'), { key: 'empty', id: 'empty', backends: [] }, 'an empty list is a 502, as in Hipache');
  });

  test('redirectHttps and hsts become options; a wrong type or a negative max-age quarantines the host', () => {
    const version = complete(`vhosts:
  secure.test:
    backends: [http://127.0.0.1:1]
    redirectHttps: true
    hsts: 31536000
  forget.test:
    backends: [http://127.0.0.1:1]
    hsts: 0
  bad.test:
    backends: [http://127.0.0.1:1]
    redirectHttps: "yes"
    hsts: -1
  fraction.test:
    backends: [http://127.0.0.1:1]
    hsts: 1.5
`);
    assert.deepEqual(version.frontends.get('secure.test')?.options, { redirectHttps: true, hsts: 31536000 });
    assert.deepEqual(version.frontends.get('forget.test')?.options, { hsts: 0 }, 'max-age=0 is how a site withdraws HSTS');
    assert.deepEqual(quarantined(version, 'bad.test').sort(), [
      'vhosts.yaml:11:20: /vhosts/bad.test/redirectHttps: must be boolean',
      'vhosts.yaml:12:11: /vhosts/bad.test/hsts: must be >= 0',
    ]);
    assert.deepEqual(quarantined(version, 'fraction.test'), ['vhosts.yaml:15:11: /vhosts/fraction.test/hsts: must be integer']);
  });

  test('healthCheck: fields in one order whatever the file\'s, false turns the server default off, a path inherits it, a bad field quarantines', () => {
    const version = complete(`vhosts:
  checked.test:
    backends: [http://127.0.0.1:1, http://127.0.0.1:2]
    healthCheck: { timeout: 1, path: /health, interval: 5 }
    paths:
      /api:
        backends: [http://127.0.0.1:3]
  off.test:
    backends: [http://127.0.0.1:1]
    healthCheck: false
  bad.test:
    backends: [http://127.0.0.1:1]
    healthCheck: { path: health, unhealthyAfter: 0 }
`);
    const options = version.frontends.get('checked.test')?.options;
    assert.deepEqual(options, { healthCheck: { path: '/health', interval: 5, timeout: 1 } });
    assert.equal(JSON.stringify(options?.healthCheck), '{"path":"/health","interval":5,"timeout":1}');
    assert.deepEqual(version.frontends.get('checked.test/api')?.options, options, 'a path takes its host\'s check');
    assert.deepEqual(version.frontends.get('off.test')?.options, { healthCheck: false });
    assert.equal(quarantined(version, 'bad.test').length, 2);
  });

  test('balance and sticky become options, a host\'s covering its paths; a bad value or cookie name quarantines the host', () => {
    const version = complete(`vhosts:
  shop.test:
    backends: [http://127.0.0.1:1]
    balance: least-requests
    sticky: { cookie: SHOP_BACKEND }
    paths:
      /api:
        backends: [http://127.0.0.1:2]
        balance: random
  bad.test:
    backends: [http://127.0.0.1:1]
    balance: round-robin
  badcookie.test:
    backends: [http://127.0.0.1:1]
    sticky: { cookie: "a b;c" }
  extra.test:
    backends: [http://127.0.0.1:1]
    sticky: { cookie: x, maxAge: 10 }
`);
    assert.deepEqual(version.frontends.get('shop.test')?.options, { balance: 'least-requests', sticky: { cookie: 'SHOP_BACKEND' } });
    assert.deepEqual(version.frontends.get('shop.test/api')?.options, { balance: 'random', sticky: { cookie: 'SHOP_BACKEND' } });
    assert.equal(quarantined(version, 'bad.test').length, 1);
    assert.match(quarantined(version, 'bad.test')[0]!, /\/vhosts\/bad\.test\/balance/);
    assert.match(quarantined(version, 'badcookie.test')[0]!, /\/vhosts\/badcookie\.test\/sticky\/cookie: must be a cookie name/);
    assert.match(quarantined(version, 'extra.test')[0]!, /\/vhosts\/extra\.test\/sticky/);
  });

  test('an invalid host entry quarantines that host only, with file, line, column and JSON path', () => {
    const version = complete(`vhosts:
  good.test:
    backends: [http://127.0.0.1:1]
  bad.test:
    backends:
      - ftp://127.0.0.1:1
      - url: http://127.0.0.1:2
        weight: 0
    tcpTimeout: -1
    colour: blue
  "not a host":
    backends: []
  nobackends.test:
    id: x
`);
    assert.deepEqual([...version.frontends.keys()], ['good.test']);
    assert.deepEqual(quarantined(version, 'bad.test').sort(), [
      'vhosts.yaml:10:5: /vhosts/bad.test/colour: unknown key',
      'vhosts.yaml:6:9: /vhosts/bad.test/backends/0: must be an http:// or https:// URL',
      'vhosts.yaml:8:17: /vhosts/bad.test/backends/1/weight: must be >= 1',
      'vhosts.yaml:9:17: /vhosts/bad.test/tcpTimeout: must be > 0',
    ]);
    assert.match(quarantined(version, 'not a host')[0]!, /^vhosts\.yaml:11:3: \/vhosts\/not a host: is not a host/);
    assert.deepEqual(quarantined(version, 'nobackends.test'), ['vhosts.yaml:13:3: /vhosts/nobackends.test: a host needs backends, paths, or both']);
  });

  test('a URL the schema lets through but the proxy cannot use (query, user info) is checked with parseBackend', () => {
    const version = complete('vhosts:\n  q.test:\n    backends:\n      - url: "http://u:p@127.0.0.1:1/"\n');
    const [line] = quarantined(version, 'q.test');
    assert.match(line!, /^vhosts\.yaml:4:14: \/vhosts\/q\.test\/backends\/0\/url: "http:\/\/u:p@127\.0\.0\.1:1\/" is not a usable backend/);
  });

  test('YAML syntax errors reject the whole version, with line and column', () => {
    const [problem] = rejected('vhosts:\n  a.test:\n    backends: [http://127.0.0.1:1\n  b.test: {}\n');
    assert.equal(problem!.code, 'FILE_PARSE');
    assert.equal(problem!.file, 'vhosts.yaml');
    assert.ok(problem!.line >= 3, `line ${problem!.line}`);
    assert.ok(problem!.column >= 1);
    assert.match(problem!.reason, /^invalid YAML: /);
  });

  test('a key written twice in one file is a syntax error at the second one', () => {
    const [problem] = rejected('vhosts:\n  a.test:\n    backends: []\n  a.test:\n    backends: []\n');
    assert.equal(formatProblem(problem!), 'vhosts.yaml:4:3: /: invalid YAML: Map keys must be unique');
  });

  test('JSON syntax errors are located too', () => {
    const [problem] = rejected('{\n  "vhosts": {\n    "a.test": { "backends": [,] }\n  }\n}\n', 'vhosts.json');
    assert.equal(problem!.code, 'FILE_PARSE');
    assert.equal(problem!.line, 3);
  });

  test('a document-level schema error rejects the version and suggests the key meant', () => {
    assert.deepEqual(rejected('vhost:\n  a.test:\n    backends: []\n').map(formatProblem).sort(), [
      'vhosts.yaml:1:1: /vhost: unknown key (did you mean "vhosts"?)',
      'vhosts.yaml:1:1: /vhosts: is required',
    ]);
    assert.deepEqual(rejected('vhosts: [a, b]\n').map(formatProblem), ['vhosts.yaml:1:9: /vhosts: must be object']);
    assert.deepEqual(rejected('- just a list\n').map(formatProblem), ['vhosts.yaml:1:1: /: must be object']);
  });

  test('a host defined in two files is quarantined, and the problem names both files', () => {
    const version = complete([
      { file: 'dir/a.yaml', text: 'vhosts:\n  only-a.test: { backends: [] }\n  shared.test: { backends: [] }\n' },
      { file: 'dir/b.yaml', text: 'vhosts:\n  only-b.test: { backends: [] }\n  Shared.test: { backends: ["http://127.0.0.1:1"] }\n' },
    ]);
    assert.deepEqual([...version.frontends.keys()].sort(), ['only-a.test', 'only-b.test']);
    const [line] = quarantined(version, 'shared.test');
    assert.equal(line, 'dir/b.yaml:3:3: /vhosts/Shared.test: host "Shared.test" is defined twice: here and at dir/a.yaml:3 (the host keeps its previous version)');
  });

  test('an empty file is a version still being written; `vhosts: {}` is a version without hosts', () => {
    assert.deepEqual(buildVersion([{ file: 'a.yaml', text: 'vhosts: {}\n' }, { file: 'b.yaml', text: ' \n' }]), { kind: 'incomplete', file: 'b.yaml' });
    const version = complete('vhosts: {}\n');
    assert.equal(version.frontends.size, 0);
    assert.equal(version.invalid.size, 0);
  });
});
