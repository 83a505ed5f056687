// A counter every worker counts alike (each applies the same configuration
// events), so the instance shows it once: the most any worker has. Taken
// as it is, it would go back whenever the workers that counted most are
// gone (a reload replaces them all, and the new ones start from their own
// snapshot); so, as Prometheus reads a counter reset, a drop adds the value
// before it to what is shown from then on.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

interface Series {
  labels: MetricValue<string>['labels'];
  /** The most any worker had at the last scrape. */
  last: number;
  /** What the drops so far added. */
  offset: number;
}

export class CountedOnce {
  readonly #series = new Map<string, Series>();
  /** The metric as a worker gave it (name, help, type), for the instance's. */
  #shape: MetricJson | null = null;

  constructor(readonly name: string) {}

  /** The instance's metric from every worker's metrics; null before any worker had it. */
  merge(workers: readonly MetricJson[][]): MetricJson | null {
    const most = new Map<string, number>();
    for (const metric of workers.flat()) {
      if (metric.name !== this.name) continue;
      this.#shape = metric;
      for (const { labels, value } of metric.values) {
        const key = JSON.stringify(labels);
        if (!this.#series.has(key)) this.#series.set(key, { labels, last: 0, offset: 0 });
        most.set(key, Math.max(most.get(key) ?? 0, value));
      }
    }
    if (this.#shape === null) return null;
    const values = [...this.#series].map(([key, series]) => {
      const now = most.get(key) ?? 0;
      if (now < series.last) series.offset += series.last;
      series.last = now;
      return { labels: series.labels, value: series.offset + now };
    });
    return { ...this.#shape, values };
  }
}
