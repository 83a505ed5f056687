import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeHost, splitAbsoluteTarget } from '../../src/frontends/host.js';

describe('normalizeHost', () => {
  const cases: [string | undefined, string | null][] = [
    ['www.example.com', 'www.example.com'],
    ['WWW.Example.COM', 'www.example.com'],
    ['www.example.com:8080', 'www.example.com'],
    ['www.example.com.', 'www.example.com'],
    ['www.example.com.:80', 'www.example.com'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['__ping__', '__ping__'],
    ['', null],
    [undefined, null],
    ['bad host', null],
    ['a/b', null],
    ['host:notaport', null],
    ['[::1', null],
    ['.', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => assert.equal(normalizeHost(input), expected));
  }
});

describe('splitAbsoluteTarget', () => {
  it('routes an absolute-form target by its authority', () => {
    assert.deepEqual(splitAbsoluteTarget('http://a.test:8080/x?y=1'), { authority: 'a.test:8080', path: '/x?y=1' });
    assert.deepEqual(splitAbsoluteTarget('http://a.test'), { authority: 'a.test', path: '/' });
    assert.deepEqual(splitAbsoluteTarget('http://a.test?q'), { authority: 'a.test', path: '/?q' });
  });
  it('rejects userinfo and other schemes', () => {
    assert.equal(splitAbsoluteTarget('http://user@a.test/'), null);
    assert.equal(splitAbsoluteTarget('ftp://a.test/'), null);
  });
});
