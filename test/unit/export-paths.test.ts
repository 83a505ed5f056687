// `switchyard export` of path frontends (SPEC §9): frontend:<host>/<prefix>
// lists go under their host's `paths`, and read back to the same lists.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkVersion } from '../../adapters/file/index.js';
import { exportVhosts } from '../../app/cli/export-yaml.js';

describe('export of path frontends', () => {
  test('a path list goes under its host\'s paths, with its id unless it is the key', () => {
    const lists = [
      { host: 'www.x.test/api', list: ['www.x.test/api', 'http://127.0.0.1:2'] },
      { host: 'www.x.test', list: ['site', 'http://127.0.0.1:1'] },
      { host: 'only.x.test/a/b', list: ['ab', 'http://127.0.0.1:3', 'http://127.0.0.1:3'] },
    ];
    const result = exportVhosts(lists, []);
    assert.deepEqual(result.skipped, []);
    assert.equal(
      result.text,
      `vhosts:
  www.x.test:
    id: site
    backends:
      - http://127.0.0.1:1
    paths:
      /api:
        backends:
          - http://127.0.0.1:2
  only.x.test:
    paths:
      /a/b:
        id: ab
        backends:
          - url: http://127.0.0.1:3
            weight: 2
`,
    );
    assert.deepEqual([...checkVersion([{ file: 'x', text: result.text }]).frontends.keys()].sort(), ['only.x.test/a/b', 'www.x.test', 'www.x.test/api']);
  });

  test('a path key no request can reach is skipped with the reason', () => {
    const result = exportVhosts([{ host: 'h.test/api/', list: ['id', 'http://127.0.0.1:1'] }], []);
    assert.equal(result.exported, 0);
    assert.match(result.skipped[0]!.reason, /does not end with "\/".*no request reaches this key/);
  });
});
