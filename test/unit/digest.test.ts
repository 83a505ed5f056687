import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrontendDigest } from '../../src/frontends/digest.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';

const specs = [
  { key: 'www.example.com', id: 'www.example.com', backends: ['http://10.0.0.1:80', 'http://10.0.0.1:80'] },
  { key: '*.example.com', id: 'wild', backends: ['http://10.0.0.2:80'] },
  { key: 'caf\u00e9.test', id: 'caf\u00e9', backends: [] }, // not ASCII: kept beside the byte index
  { key: 'opts.test', id: 'opts', backends: ['http://10.0.0.3:80'], options: { tcpTimeout: 3, retryOnError: 1 } },
];

describe('FrontendDigest (configuration versions)', () => {
  it('does not depend on the order frontends were defined in', () => {
    assert.equal(FrontendDigest.of(specs).version, FrontendDigest.of([...specs].reverse()).version);
  });

  it('a FrontendSet digests its compact storage exactly as the specs digest', () => {
    assert.equal(FrontendSet.from(specs).digest().version, FrontendDigest.of(specs).version);
    assert.equal(new FrontendSet().digest().version, '0000000000000000');
  });

  it('any difference changes it: a backend, the order of backends, a repetition, the id, an option, the key', () => {
    const base = FrontendDigest.of(specs).version;
    const variants = [
      { ...specs[0]!, backends: ['http://10.0.0.1:80'] },
      { ...specs[0]!, backends: ['http://10.0.0.1:80', 'http://10.0.0.1:81'] },
      { ...specs[0]!, id: 'other' },
      { ...specs[0]!, key: 'www2.example.com' },
      { ...specs[0]!, options: { tcpTimeout: 3 } },
    ];
    const seen = new Set([base]);
    for (const variant of variants) {
      const version = FrontendDigest.of([variant, ...specs.slice(1)]).version;
      assert.ok(!seen.has(version), JSON.stringify(variant));
      seen.add(version);
    }
    const reordered = { ...specs[3]!, key: 'o.test', backends: ['http://b:1', 'http://a:1'] };
    assert.notEqual(FrontendDigest.of([reordered]).version, FrontendDigest.of([{ ...reordered, backends: ['http://a:1', 'http://b:1'] }]).version);
    // Where one field ends and the next begins is part of the content.
    assert.notEqual(FrontendDigest.of([{ key: 'ab', id: 'c', backends: [] }]).version, FrontendDigest.of([{ key: 'a', id: 'bc', backends: [] }]).version);
  });

  it('toggling a frontend in and out restores the version', () => {
    const digest = FrontendDigest.of(specs);
    const before = digest.version;
    digest.toggle({ key: 'new.test', id: 'n', backends: ['http://n:1'] });
    assert.notEqual(digest.version, before);
    digest.toggle({ key: 'new.test', id: 'n', backends: ['http://n:1'] });
    assert.equal(digest.version, before);
  });
});
