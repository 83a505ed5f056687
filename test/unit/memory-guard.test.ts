import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertificateSpec, FrontendSpec } from '../../src/vocabulary/events.js';
import { RoutingTable } from '../../src/routing/table.js';
import { MemoryGuard } from '../../app/workers/memory-guard.js';

const MiB = 1048576;

function tableWith(frontends: number): RoutingTable {
  const specs: FrontendSpec[] = Array.from({ length: frontends }, (_, i) => ({ key: `h${i}.test`, id: `h${i}`, backends: ['http://127.0.0.1:1'] }));
  return RoutingTable.fromEvents([{ type: 'snapshot', source: 'redis', version: 'v', frontends: specs, dead: [] }]);
}

describe('MemoryGuard', () => {
  it('does not judge a worker still reading its first snapshot', () => {
    assert.equal(new MemoryGuard(100, new RoutingTable()).check(500 * MiB), null);
  });

  it('reports a small table over the limit (growth or a leak)', () => {
    const guard = new MemoryGuard(100, tableWith(10));
    assert.equal(guard.check(150 * MiB), 150 * MiB);
    assert.equal(guard.limitMiB, 100);
  });

  it('raises the limit once for a table that alone needs most of it, instead of draining in a loop', () => {
    const guard = new MemoryGuard(100, tableWith(300_000)); // ~60 MiB of table by its estimate
    assert.equal(guard.check(160 * MiB), null, 'the first check after loading takes the baseline');
    assert.equal(guard.limitMiB, 240);
    assert.equal(guard.check(200 * MiB), null);
    assert.equal(guard.check(260 * MiB), 260 * MiB, 'growth beyond 1.5x the loaded size is still caught');
  });

  it('counts the certificates\' PEM as table too: 20,000 of 3 KB raise a 100 MiB limit, 200 do not', () => {
    const withCertificates = (n: number) => {
      const certificates: CertificateSpec[] = Array.from({ length: n }, (_, i) => ({
        key: `h${i}.test`,
        names: [`h${i}.test`],
        pem: 'x'.repeat(3000),
        checked: false,
        notAfter: Number.POSITIVE_INFINITY,
        fingerprint: '',
      }));
      return RoutingTable.fromEvents([{ type: 'snapshot', source: 'redis', version: 'v', frontends: [], dead: [], certificates }]);
    };
    const many = new MemoryGuard(100, withCertificates(20_000)); // ~78 MiB by its estimate
    assert.equal(many.check(160 * MiB), null);
    assert.equal(many.limitMiB, 240);
    const few = new MemoryGuard(100, withCertificates(200));
    assert.equal(few.check(160 * MiB), 160 * MiB);
  });
});
