// A worker's metrics (SPEC §8), made at scrape time from the plain counters
// the request path bumps (src/proxy/traffic.ts) and from the table and
// sources: prom-client serialises and aggregates them (app/metrics/instance.ts),
// nothing of it runs per request.

import { collectDefaultMetrics, Registry, type Metric, type MetricValue } from 'prom-client';
import { DURATION_BOUNDS, type RequestCounts, type TrafficCounters } from '../../src/proxy/traffic.js';
import type { RoutingTable } from '../../src/routing/table.js';
import type { ConfigSource } from '../../src/vocabulary/source.js';

type MetricType = 'counter' | 'gauge' | 'histogram';
/**
 * How the master combines the workers' values: counts add up; what every
 * worker sees alike (its table, its sources) is taken once (max), and a
 * source is up only if it is up in every worker (min).
 */
type Aggregator = 'sum' | 'max' | 'min';
type Value = MetricValue<string> & { metricName?: string };

export interface WorkerMetricsInput {
  traffic: TrafficCounters;
  table: RoutingTable;
  sources: readonly ConfigSource[];
  /** Certificates served, by where they come from. */
  certificates: () => Record<string, number>;
  /** OCSP fetches made and failed (SPEC §7 stapling); absent without an HTTPS listener. */
  ocsp?: () => { fetches: number; failures: number };
}

/** A metric whose values are computed when scraped. */
function computed(name: string, help: string, type: MetricType, aggregator: Aggregator, values: () => Value[]): Metric {
  const get = async () => ({ name, help, type, aggregator, values: values() });
  return { name, help, type, aggregator, get } as unknown as Metric;
}

function requestValues(counts: RequestCounts, host: string | null): Value[] {
  const values: Value[] = [];
  for (const { method, code, count } of counts.counted()) values.push({ value: count, labels: host === null ? { code, method } : { code, method, host } });
  return values;
}

function durationValues(counts: RequestCounts, host: string | null): Value[] {
  const name = 'switchyard_request_duration_seconds';
  const labels = (le: string) => (host === null ? { le } : { le, host });
  const values: Value[] = [];
  let cumulative = 0;
  DURATION_BOUNDS.forEach((bound, i) => {
    cumulative += counts.durationBuckets[i]!;
    values.push({ value: cumulative, labels: labels(String(bound)), metricName: `${name}_bucket` });
  });
  values.push({ value: counts.durationCount, labels: labels('+Inf'), metricName: `${name}_bucket` });
  const plain = host === null ? {} : { host };
  values.push({ value: counts.durationSum, labels: plain, metricName: `${name}_sum` });
  values.push({ value: counts.durationCount, labels: plain, metricName: `${name}_count` });
  return values;
}

/** Every labelled host's values beside the unlabelled ones: each request is in exactly one of them. */
function everyHost(traffic: TrafficCounters, values: (counts: RequestCounts, host: string | null) => Value[]): Value[] {
  const all = values(traffic.requests, null);
  for (const [host, counts] of traffic.hosts) all.push(...values(counts, host));
  return all;
}

function switchyardMetrics(input: WorkerMetricsInput): Metric[] {
  const { traffic, table, sources } = input;
  return [
    computed('switchyard_requests_total', 'Requests answered, by status code and method (499: the client left before an answer; 101: a WebSocket tunnel opened).', 'counter', 'sum', () =>
      everyHost(traffic, requestValues)),
    computed('switchyard_request_duration_seconds', 'Time from the request head to the end of the answer.', 'histogram', 'sum', () =>
      everyHost(traffic, durationValues)),
    computed('switchyard_backend_errors_total', 'Failed backend attempts by x-debug-error code (lower case), and requests with no backend to try.', 'counter', 'sum', () =>
      [...traffic.backendErrorsCounted()].map(({ reason, count }) => ({ value: count, labels: { reason } }))),
    computed('switchyard_retries_total', 'Requests sent again to another backend after a failed attempt.', 'counter', 'sum', () => [{ value: traffic.retries, labels: {} }]),
    computed('switchyard_open_connections', 'Client connections open now, by protocol (websocket: open tunnels, also counted under http or https).', 'gauge', 'sum', () =>
      (['http', 'https', 'websocket'] as const).map((protocol) => ({ value: traffic.open[protocol], labels: { protocol } }))),
    computed('switchyard_frontends', 'Frontends each source serves.', 'gauge', 'max', () =>
      sources.map((s) => ({ value: table.frontendsBySource().get(s.name) ?? 0, labels: { source: s.name } }))),
    computed('switchyard_source_up', '1 while the source is connected and followed, 0 otherwise (the last good table is served).', 'gauge', 'min', () =>
      sources.map((s) => ({ value: s.status().state === 'ready' ? 1 : 0, labels: { source: s.name } }))),
    computed('switchyard_config_events_total', 'Configuration events applied to the routing table, by source and type.', 'counter', 'max', () => {
      const values: Value[] = [];
      for (const [source, byType] of table.appliedEvents()) for (const [type, count] of byType) values.push({ value: count, labels: { source, type } });
      return values;
    }),
    computed('switchyard_dead_backends', 'Backends marked dead now.', 'gauge', 'max', () => [{ value: table.deadBackends(), labels: {} }]),
    computed('switchyard_tls_certificates', 'TLS certificates served, by source.', 'gauge', 'max', () =>
      Object.entries(input.certificates()).map(([source, value]) => ({ value, labels: { source } }))),
    computed('switchyard_ocsp_fetches_total', 'OCSP responses fetched for stapling, by result (failed: no answer, or one that did not pass the checks).', 'counter', 'sum', () => {
      const ocsp = input.ocsp?.();
      return ocsp === undefined ? [] : [{ value: ocsp.fetches - ocsp.failures, labels: { result: 'ok' } }, { value: ocsp.failures, labels: { result: 'failed' } }];
    }),
  ];
}

/** The registries a worker answers `metrics` queries from. */
export class WorkerMetrics {
  readonly #switchyard = new Registry();
  /** process_* and nodejs_*, labelled with the worker: they are per process, never added up. */
  readonly #process = new Registry();

  constructor(input: WorkerMetricsInput, worker: string) {
    for (const metric of switchyardMetrics(input)) this.#switchyard.registerMetric(metric);
    this.#process.setDefaultLabels({ worker });
    collectDefaultMetrics({ register: this.#process });
  }

  async json(): Promise<unknown[]> {
    return [...(await this.#switchyard.getMetricsAsJSON()), ...(await this.#process.getMetricsAsJSON())];
  }
}
