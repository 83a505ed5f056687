// What a worker tells the ACME orderer may be ordered for (app/acme/hosts.ts):
// exact names of its table that no certificate covers; never a pattern, an
// IP literal or a name the table does not have. And the worker's challenge
// book (app/acme/challenges.ts): a token answers for its own host only.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChallengeBook } from '../../app/acme/challenges.js';
import { acmeHosts, isOrderableName } from '../../app/acme/hosts.js';
import { RoutingTable } from '../../src/routing/table.js';
import type { CertificateSpec } from '../../src/vocabulary/events.js';

const spec = (key: string, names: string[]): CertificateSpec => ({ key, names, pem: '', notAfter: Date.now() + 86_400_000, fingerprint: key });

function table(): RoutingTable {
  const keys = ['plain.x.test', 'covered.x.test', 'wild.y.test', '*.y.test', '*', '10.0.0.1', 'localhost', 'exact.x.test'];
  return RoutingTable.fromEvents([
    {
      type: 'snapshot',
      source: 'redis',
      version: 'v',
      frontends: keys.map((key) => ({ key, id: key, backends: ['http://127.0.0.1:1'] })),
      dead: [],
      certificates: [spec('exact', ['exact.x.test']), spec('wild', ['*.y.test']), spec('other', ['covered.x.test'])],
    },
  ]);
}

describe('hosts ACME may order for', () => {
  test('exact names without a certificate; patterns, IPs, single labels and covered names left out', () => {
    assert.deepEqual(acmeHosts(table(), []).missing.sort(), ['plain.x.test']);
  });

  test('of the hosts issued before, those still in the table (renewal); a name only a wildcard route serves is not', () => {
    assert.deepEqual(acmeHosts(table(), ['exact.x.test', 'gone.x.test', 'sub.y.test']).configured, ['exact.x.test']);
  });

  test('a host with path frontends only is configured: ordered for, and renewed', () => {
    const paths = RoutingTable.fromEvents([
      { type: 'frontend-set', source: 'file', version: 'v', frontend: { key: 'paths.x.test/api', id: 'api', backends: [] } },
      { type: 'frontend-set', source: 'file', version: 'v', frontend: { key: 'paths.x.test/web', id: 'web', backends: [] } },
    ]);
    assert.deepEqual(acmeHosts(paths, ['paths.x.test']), { missing: ['paths.x.test'], configured: ['paths.x.test'] });
  });

  test('names a CA can issue for', () => {
    for (const name of ['a.bc', 'www.example.com', 'x-1.example.co']) assert.ok(isOrderableName(name), name);
    for (const name of ['*.example.com', '*', '127.0.0.1', '[::1]', 'localhost', 'a..b', '-a.b', 'a.b-']) assert.ok(!isOrderableName(name), name);
  });
});

describe('the challenge book', () => {
  const answer = (book: ChallengeBook, host: string, token: string) => new Promise<string | null>((resolve) => book.answer(host, token, resolve));

  test('a token answers for its host only, until removed', async () => {
    const book = new ChallengeBook(null);
    book.set('tok', { host: 'a.x.test', keyAuthorization: 'tok.thumb' });
    assert.equal(await answer(book, 'a.x.test', 'tok'), 'tok.thumb');
    assert.equal(await answer(book, 'b.x.test', 'tok'), null);
    book.set('tok', null);
    assert.equal(await answer(book, 'a.x.test', 'tok'), null);
  });

  test('a token this instance does not hold is looked up in the shared store; a failing store is "not ours"', async () => {
    const shared = { challenge: async (token: string) => (token === 'far' ? { host: 'a.x.test', keyAuthorization: 'far.thumb' } : null), close: async () => {} };
    const book = new ChallengeBook(shared);
    assert.equal(await answer(book, 'a.x.test', 'far'), 'far.thumb');
    assert.equal(await answer(book, 'b.x.test', 'far'), null);
    const failing = new ChallengeBook({ challenge: () => Promise.reject(new Error('down')), close: async () => {} });
    assert.equal(await answer(failing, 'a.x.test', 'far'), null);
  });
});

test('a shared store that does not answer is "not ours" within a second: the request goes on', async () => {
  const book = new ChallengeBook({ challenge: () => new Promise(() => {}), close: async () => {} });
  const started = Date.now();
  const answered = await new Promise<string | null>((resolve) => book.answer('a.x.test', 'tok', resolve));
  assert.equal(answered, null);
  assert.ok(Date.now() - started < 1500);
});
