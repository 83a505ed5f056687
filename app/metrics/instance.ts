// The instance's /metrics: every worker's metrics added up by prom-client's
// aggregation (each metric by its `aggregator`), with the master's own.

import { CountedOnce } from './counted-once.js';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** Counts that only grow: a departed worker's last values stay in the instance's totals. */
const CARRIED = new Set(['switchyard_requests_total', 'switchyard_request_duration_seconds', 'switchyard_backend_errors_total', 'switchyard_retries_total']);

/** The counts of a worker's metrics that only grow. */
function carried(metrics: MetricJson[]): MetricJson[] {
  return metrics.filter((m) => CARRIED.has(m.name));
}

/**
 * prom-client's cluster aggregation drops the metrics it marks `omit`
 * (process_start_time_seconds): here every process's metrics carry its `worker`
 * label, so there is nothing to combine and they are taken as they are.
 */
function perProcess(metrics: MetricJson[]): MetricJson[] {
  return metrics.map((m) => (m.aggregator === 'omit' ? { ...m, aggregator: 'first' } : m));
}

export class InstanceMetrics {
  readonly #registry = new Registry();
  readonly restarts: Counter;
  /** The master's ACME orders (app/acme/orderer.ts), by outcome. */
  readonly acmeOrders: Counter<'outcome'>;
  /** The master's active health checks (app/health/prober.ts), by result: pass or fail. */
  readonly healthChecks: Counter<'result'>;
  /** Backends this instance's health checks find unhealthy now; the master sets where it reads them. */
  unhealthyBackends: () => number = () => 0;
  /** What the workers that are gone had counted (CARRIED metrics only), added up. */
  #departed: MetricJson[] = [];
  /** Each live worker's latest metrics, kept for when it goes. */
  readonly #latest = new Map<number, MetricJson[]>();
  /** Workers that exited (cluster ids are never reused). */
  readonly #gone = new Set<number>();
  readonly #configEvents = new CountedOnce('switchyard_config_events_total');

  constructor(listening: () => number) {
    this.restarts = new Counter({
      name: 'switchyard_worker_restarts_total',
      help: 'Workers replaced after they died or went over their memory limit.',
      registers: [this.#registry],
    });
    this.acmeOrders = new Counter({
      name: 'switchyard_acme_orders_total',
      help: 'Certificates ordered from the ACME CA (https.acme), by outcome: issued or failed.',
      labelNames: ['outcome'],
      registers: [this.#registry],
    });
    this.healthChecks = new Counter({
      name: 'switchyard_health_checks_total',
      help: 'Active health checks this instance ran (healthCheck), by result: pass (a 2xx or 3xx answer) or fail (no connection, timeout, any other status).',
      labelNames: ['result'],
      registers: [this.#registry],
    });
    const unhealthy = (): number => this.unhealthyBackends();
    new Gauge({
      name: 'switchyard_unhealthy_backends',
      help: 'Backends this instance checks (healthCheck) that failed their checks and are marked dead until they pass again.',
      registers: [this.#registry],
      collect() {
        this.set(unhealthy());
      },
    });
    new Gauge({
      name: 'switchyard_workers',
      help: 'Workers serving now (listening).',
      registers: [this.#registry],
      collect() {
        this.set(listening());
      },
    });
    // The master's process_*: per process, as the workers' are.
    const master = new Registry();
    master.setDefaultLabels({ worker: 'master' });
    collectDefaultMetrics({ register: master });
    this.#master = master;
  }

  readonly #master: Registry;

  /** A worker's metrics as it answered them; `worker` is its cluster id. */
  seen(worker: number, metrics: unknown[]): void {
    // An answer that arrives after its worker's exit is already in the departed counts.
    if (!this.#gone.has(worker)) this.#latest.set(worker, metrics as MetricJson[]);
  }

  /** A worker exited: what it counted last is kept in the totals. */
  departed(worker: number): void {
    this.#gone.add(worker);
    const last = this.#latest.get(worker);
    this.#latest.delete(worker);
    if (last === undefined) return;
    this.#departed = (AggregatorRegistry.aggregate([this.#departed, carried(last)]).getMetricsAsArray() as unknown as { get(): MetricJson }[]).map((m) => m.get());
  }

  /**
   * The Prometheus text of the instance, from the workers that answered. A
   * live worker that did not (draining after a reload, or too slow) is
   * counted as it last answered: its requests happened, and a counter that
   * dips and comes back reads as a reset, a burst of traffic that never was.
   */
  async text(answers: { worker: number; metrics: unknown[] }[]): Promise<string> {
    const live = answers.filter((a) => !this.#gone.has(a.worker));
    for (const { worker, metrics } of live) this.seen(worker, metrics);
    const heard = new Set(live.map((a) => a.worker));
    const unheard = [...this.#latest].filter(([worker]) => !heard.has(worker)).map(([, metrics]) => metrics);
    const answered = live.map((a) => perProcess(a.metrics as MetricJson[]));
    const events = this.#configEvents.merge([...answered, ...unheard]);
    const workers = [...answered.map((metrics) => metrics.filter((m) => m.name !== this.#configEvents.name)), ...unheard.map(carried)];
    const all = [...workers, events === null ? [] : [events], this.#departed, await this.#registry.getMetricsAsJSON(), perProcess(await this.#master.getMetricsAsJSON())];
    return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  }

  get contentType(): string {
    return this.#registry.contentType;
  }
}
