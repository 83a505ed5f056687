// The ACME orderer's decisions (app/acme/orderer.ts), with a stand-in CA and
// store: what is ordered (only what the table lacks), renewal at two thirds
// of the lifetime, the backoff after a failure, the lock.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { AcmeOrderer, type OrderOutcome } from '../../app/acme/orderer.js';
import type { AcmeStore, Issued, PendingChallenge } from '../../app/acme/store.js';
import type { AcmeConfig } from '../../src/config/types.js';
import { makeCa, makeLeaf, opensslDate, type TestCa } from '../helpers/certificates.js';
import { delay } from '../helpers/wait.js';

const DAY = 86_400_000;
const CONFIG: AcmeConfig = { directory: 'https://127.0.0.1:1/dir', email: 'ops@x.test', ca: null, storage: '/nonexistent', checkIntervalMs: 60_000, retryAfterMs: 300 };

class MemoryStore implements AcmeStore {
  readonly held = new Map<string, Issued>();
  readonly saved: string[] = [];
  readonly locked = new Set<string>();
  async accountKey(create: () => Promise<string>): Promise<string> {
    return create();
  }
  async issued(): Promise<Map<string, Issued>> {
    return new Map(this.held);
  }
  async save(host: string, _pem: string, issued: Issued): Promise<void> {
    this.saved.push(host);
    this.held.set(host, issued);
  }
  async publishChallenge(_token: string, _challenge: PendingChallenge | null): Promise<void> {}
  async challenge(): Promise<PendingChallenge | null> {
    return null;
  }
  async lock(host: string): Promise<boolean> {
    return !this.locked.has(host);
  }
  async unlock(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What the stand-in CA issues (the orderer reads only its dates). */
let leafPem: string;
before(() => {
  const ca: TestCa = makeCa();
  leafPem = makeLeaf(ca, { names: ['any.x.test'], notBefore: opensslDate(Date.now() - 60_000), notAfter: opensslDate(Date.now() + 90 * DAY) }).pem;
});

/** An orderer whose table lacks `missing` and has `configured`; the CA fails for hosts in `failing`. */
function orderer(store: MemoryStore, table: { missing: string[]; configured: string[] }, failing = new Set<string>()) {
  const ordered: string[] = [];
  const counted: OrderOutcome[] = [];
  const it = new AcmeOrderer(CONFIG, {
    store,
    hosts: async (issued) => ({ missing: table.missing, configured: issued.filter((h) => table.configured.includes(h)) }),
    challenges: async () => {},
    counted: (outcome) => counted.push(outcome),
    account: () => ({
      order: async (host) => {
        ordered.push(host);
        if (failing.has(host)) throw new Error('urn:ietf:params:acme:error:connection');
        return leafPem;
      },
    }),
  });
  return { it, ordered, counted };
}

describe('the ACME orderer', () => {
  test('orders what the table lacks, once: a certificate just issued is not ordered again before the table has it', async () => {
    const store = new MemoryStore();
    const { it, ordered, counted } = orderer(store, { missing: ['a.x.test', 'b.x.test'], configured: [] });
    await it.check();
    assert.deepEqual(ordered, ['a.x.test', 'b.x.test']);
    assert.deepEqual(store.saved, ['a.x.test', 'b.x.test']);
    await it.check(); // the table still says missing: the store's word wins
    assert.deepEqual(ordered, ['a.x.test', 'b.x.test']);
    assert.deepEqual(counted, ['issued', 'issued']);
  });

  test('renews at two thirds of the lifetime, only a host still configured', async () => {
    const store = new MemoryStore();
    const now = Date.now();
    store.held.set('due.x.test', { notBefore: now - 61 * DAY, notAfter: now + 29 * DAY, savedAt: now - 61 * DAY }); // 61 of 90 days gone
    store.held.set('fresh.x.test', { notBefore: now - 59 * DAY, notAfter: now + 31 * DAY, savedAt: now - 59 * DAY });
    store.held.set('gone.x.test', { notBefore: now - 80 * DAY, notAfter: now + 10 * DAY, savedAt: now - 80 * DAY });
    const { it, ordered } = orderer(store, { missing: [], configured: ['due.x.test', 'fresh.x.test'] });
    await it.check();
    assert.deepEqual(ordered, ['due.x.test']);
  });

  test('a failed host backs off, doubling; the others go on', async () => {
    const store = new MemoryStore();
    const { it, ordered, counted } = orderer(store, { missing: ['bad.x.test', 'good.x.test'], configured: [] }, new Set(['bad.x.test']));
    await it.check();
    await it.check(); // within the 300 ms: skipped
    assert.deepEqual(ordered, ['bad.x.test', 'good.x.test']);
    await delay(350);
    await it.check(); // second try, then 600 ms
    await delay(350);
    await it.check();
    assert.deepEqual(ordered, ['bad.x.test', 'good.x.test', 'bad.x.test']);
    assert.deepEqual(counted, ['failed', 'issued', 'failed']);
    await delay(350);
    await it.check();
    assert.equal(ordered.filter((h) => h === 'bad.x.test').length, 3);
  });

  test('a host another instance holds the lock on is left to it, uncounted', async () => {
    const store = new MemoryStore();
    store.locked.add('busy.x.test');
    const { it, ordered, counted } = orderer(store, { missing: ['busy.x.test'], configured: [] });
    await it.check();
    assert.deepEqual(ordered, []);
    assert.deepEqual(counted, []);
  });

  test('an expired certificate of ours counts as none', async () => {
    const store = new MemoryStore();
    store.held.set('old.x.test', { notBefore: Date.now() - 100 * DAY, notAfter: Date.now() - DAY, savedAt: Date.now() - 100 * DAY });
    const { it, ordered } = orderer(store, { missing: ['old.x.test'], configured: [] });
    await it.check();
    assert.deepEqual(ordered, ['old.x.test']);
  });

  test('ours, current, yet not in the table a minute after it was stored (its tls: key removed): ordered again, then backed off', async () => {
    const store = new MemoryStore();
    const now = Date.now();
    store.held.set('lost.x.test', { notBefore: now - DAY, notAfter: now + 89 * DAY, savedAt: now - 120_000 });
    const { it, ordered, counted } = orderer(store, { missing: ['lost.x.test'], configured: [] });
    await it.check();
    assert.deepEqual(ordered, ['lost.x.test']);
    assert.deepEqual(counted, ['issued']);
    store.held.set('lost.x.test', { notBefore: now - DAY, notAfter: now + 89 * DAY, savedAt: now - 120_000 }); // the table refuses it still
    await it.check();
    assert.deepEqual(ordered, ['lost.x.test'], 'not again within retryAfter: a table that keeps refusing it must not spend the CA\'s rate limits');
  });
});
