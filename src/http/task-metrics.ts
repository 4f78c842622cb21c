import type { Metric } from "prom-client";

/** Where a metric is registered: a prom-client Registry, of either content type. */
interface MetricRegistry {
  registerMetric(metric: Metric): void;
}

/**
 * The per-task metrics fed by every run (runs by status, durations,
 * lateness), kept in plain maps and arrays and read by prom-client's
 * registry at scrape time, which formats them as its own. prom-client's
 * Counter and Histogram hash their label object on every call: about a
 * microsecond a run, in the path of a burst's callbacks for the lateness.
 * Here a run costs a map lookup and a few additions.
 */

/** One exported sample, in the shape prom-client's registry formats. */
interface Sample {
  readonly labels: Record<string, string | number>;
  readonly sharedLabels?: Record<string, string>;
  readonly value: number;
  readonly metricName?: string;
}

/** What prom-client's registry reads from a metric. */
interface Exported {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "histogram";
  readonly values: Sample[];
  readonly aggregator: "sum";
}

abstract class RegisteredMetric {
  readonly aggregator = "sum";
  /** Writable: the registry renames counters for OpenMetrics. */
  name: string;
  readonly help: string;

  constructor(name: string, help: string, registry: MetricRegistry) {
    this.name = name;
    this.help = help;
    registry.registerMetric(this as unknown as Metric);
  }

  abstract get(): Promise<Exported>;
  abstract reset(): void;
}

/** A counter of runs by `task` and `status`. */
export class TaskStatusCounter extends RegisteredMetric {
  readonly type = "counter";
  /** Counts by status, then by task. */
  readonly #counts = new Map<string, Map<string, number>>();

  add(task: string, status: string, count = 1): void {
    let byTask = this.#counts.get(status);
    if (byTask === undefined) this.#counts.set(status, (byTask = new Map<string, number>()));
    byTask.set(task, (byTask.get(task) ?? 0) + count);
  }

  get(): Promise<Exported> {
    const values: Sample[] = [];
    for (const [status, byTask] of this.#counts)
      for (const [task, value] of byTask) values.push({ labels: { task, status }, value });
    const { name, help, type, aggregator } = this;
    return Promise.resolve({ name, help, type, values, aggregator });
  }

  reset(): void {
    this.#counts.clear();
  }
}

interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is past every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram by `task`, with prom-client's buckets: a value goes in the first bound it does not exceed. */
export class TaskHistogram extends RegisteredMetric {
  readonly type = "histogram";
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, bounds: readonly number[], registry: MetricRegistry) {
    super(name, help, registry);
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  observe(task: string, value: number): void {
    let series = this.#series.get(task);
    if (series === undefined) {
      series = { counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(task, series);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (series.counts[i] as number)++;
    series.sum += value;
    series.count++;
  }

  /** The samples with the task as a shared label, as the registry formats a histogram's. */
  getForPromString(): Promise<Exported> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [task, series] of this.#series) {
      const sharedLabels = { task };
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += series.counts[i] as number;
        values.push({ labels: { le }, sharedLabels, value: cumulative, metricName: bucket });
      });
      values.push(
        { labels: { le: "+Inf" }, sharedLabels, value: series.count, metricName: bucket },
        { labels: {}, sharedLabels, value: series.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels, value: series.count, metricName: `${this.name}_count` },
      );
    }
    const { name, help, type, aggregator } = this;
    return Promise.resolve({ name, help, type, values, aggregator });
  }

  /** The samples with every label in `labels` (`Registry.getMetricsAsJSON`). */
  async get(): Promise<Exported> {
    const exported = await this.getForPromString();
    const values = exported.values.map(({ labels, sharedLabels, value, metricName }) => ({
      labels: { ...labels, ...sharedLabels },
      value,
      ...(metricName === undefined ? {} : { metricName }),
    }));
    return { ...exported, values };
  }

  reset(): void {
    this.#series.clear();
  }
}
