// InstanceMetrics: the master's sum of the workers' counters must never go
// back, whatever order scrapes, final counts and exits come in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InstanceMetrics } from '../../app/metrics/instance.js';
import { parseMetrics, total } from '../helpers/metrics.js';

/** What a worker answers a metrics query with: `count` requests. */
function counted(count: number): unknown[] {
  return [{ name: 'switchyard_retries_total', help: 'Retries.', type: 'counter', aggregator: 'sum', values: [{ value: count, labels: {} }] }];
}

async function retries(metrics: InstanceMetrics, answers: { worker: number; metrics: unknown[] }[]): Promise<number> {
  return total(parseMetrics(await metrics.text(answers)).samples, 'switchyard_retries_total');
}

test('a worker that exits while a scrape waits for the others is counted once, then still once', async () => {
  const metrics = new InstanceMetrics(() => 2);
  assert.equal(await retries(metrics, [{ worker: 1, metrics: counted(5) }, { worker: 2, metrics: counted(3) }]), 8);
  // Worker 1 answers the next scrape, then exits before worker 2 answers: its counts are carried at its exit...
  metrics.departed(1);
  // ...and the scrape, finished now, holds its answer too.
  assert.equal(await retries(metrics, [{ worker: 1, metrics: counted(5) }, { worker: 2, metrics: counted(3) }]), 8);
  assert.equal(await retries(metrics, [{ worker: 2, metrics: counted(3) }]), 8);
});

test('a worker that does not answer a scrape (draining after a reload, or hung) keeps its last counts in the totals', async () => {
  const metrics = new InstanceMetrics(() => 2);
  assert.equal(await retries(metrics, [{ worker: 1, metrics: counted(5) }, { worker: 2, metrics: counted(3) }]), 8);
  // Worker 1 is no longer asked (it drains) or does not answer in time: its requests still happened.
  assert.equal(await retries(metrics, [{ worker: 2, metrics: counted(4) }]), 9);
  // It hands its final counts as it exits.
  metrics.seen(1, counted(6));
  metrics.departed(1);
  assert.equal(await retries(metrics, [{ worker: 2, metrics: counted(4) }]), 10);
});

test("every process's process_start_time_seconds is there (prom-client's cluster aggregation omits it)", async () => {
  const metrics = new InstanceMetrics(() => 1);
  const started = Date.now() / 1000 - 60;
  const worker = [{ name: 'process_start_time_seconds', help: 'Start time.', type: 'gauge', aggregator: 'omit', values: [{ value: started, labels: { worker: '1' } }] }];
  const { samples } = parseMetrics(await metrics.text([{ worker: 1, metrics: worker }]));
  const starts = samples.filter((s) => s.name === 'process_start_time_seconds');
  assert.deepEqual(starts.map((s) => s.labels['worker']).sort(), ['1', 'master']);
  assert.equal(starts.find((s) => s.labels['worker'] === '1')!.value, started);
});

test('config events, counted once over the workers, never go back when a reload replaces every worker', async () => {
  const metrics = new InstanceMetrics(() => 2);
  const events = (byType: Record<string, number>): unknown[] => [
    { name: 'switchyard_config_events_total', help: 'Events.', type: 'counter', aggregator: 'max', values: Object.entries(byType).map(([type, value]) => ({ value, labels: { source: 'file', type } })) },
  ];
  const counted = async (answers: { worker: number; metrics: unknown[] }[]) => {
    const { samples } = parseMetrics(await metrics.text(answers));
    return Object.fromEntries(samples.filter((s) => s.name === 'switchyard_config_events_total').map((s) => [s.labels['type'], s.value]));
  };
  const before = { snapshot: 1, 'frontend-set': 4 };
  assert.deepEqual(await counted([{ worker: 1, metrics: events(before) }, { worker: 2, metrics: events(before) }]), before);
  // The reload's new generation starts from its own snapshot; the old one is gone.
  metrics.departed(1);
  metrics.departed(2);
  const after = await counted([{ worker: 3, metrics: events({ snapshot: 1 }) }, { worker: 4, metrics: events({ snapshot: 1 }) }]);
  assert.ok(after['snapshot']! >= 1 && after['frontend-set']! >= 4, JSON.stringify(after));
  const later = await counted([{ worker: 3, metrics: events({ snapshot: 1, 'frontend-set': 1 }) }, { worker: 4, metrics: events({ snapshot: 1, 'frontend-set': 1 }) }]);
  assert.equal(later['frontend-set'], after['frontend-set']! + 1, 'the next event counts one more');
});
