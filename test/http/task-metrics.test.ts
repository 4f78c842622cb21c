/**
 * The per-task metrics kept in plain maps (src/http/task-metrics.ts) export
 * exactly what prom-client's own Counter and Histogram export for the same
 * observations, as text and as JSON.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, Histogram, Registry, type RegistryContentType } from "prom-client";
import { TaskHistogram, TaskStatusCounter } from "../../src/http/task-metrics.js";

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
/** Values on, between, below and beyond the bounds. */
const VALUES = [0, 0.0005, 0.001, 0.0011, 0.05, 0.1, 0.7, 1, 9.99, 10, 10.5, 3600];

function registries(): [Registry<RegistryContentType>, Registry<RegistryContentType>] {
  return [new Registry<RegistryContentType>(), new Registry<RegistryContentType>()];
}

describe("per-task metrics in plain maps", () => {
  for (const contentType of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE]) {
    it(`export what prom-client's Histogram and Counter export (${contentType.split(";")[0]})`, async () => {
      const [ours, theirs] = registries();
      ours.setContentType(contentType);
      theirs.setContentType(contentType);
      const histogram = new TaskHistogram("h_seconds", "A histogram.", BUCKETS, ours);
      const counter = new TaskStatusCounter("runs_total", "A counter.", ours);
      const reference = new Histogram({
        name: "h_seconds",
        help: "A histogram.",
        labelNames: ["task"] as const,
        buckets: BUCKETS,
        registers: [theirs],
      });
      const referenceCounter = new Counter({
        name: "runs_total",
        help: "A counter.",
        labelNames: ["task", "status"] as const,
        registers: [theirs],
      });
      VALUES.forEach((value, i) => {
        const task = ["a", 'b "quoted"\n', "_other"][i % 3] as string;
        histogram.observe(task, value);
        reference.observe({ task }, value);
        const status = i % 4 === 0 ? "failed" : "succeeded";
        counter.add(task, status, i % 5 === 0 ? 3 : 1);
        referenceCounter.inc({ task, status }, i % 5 === 0 ? 3 : 1);
      });
      const lines = (text: string): string[] => text.split("\n").sort();
      assert.deepEqual(lines(await ours.metrics()), lines(await theirs.metrics()));
      const json = async (registry: Registry<RegistryContentType>) =>
        (await registry.getMetricsAsJSON()).map((metric) => ({
          ...metric,
          values: [...metric.values]
            .map((v) => ({
              labels: v.labels,
              value: v.value,
              metricName: (v as { metricName?: string }).metricName,
            }))
            .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
        }));
      assert.deepEqual(await json(ours), await json(theirs));
    });
  }

  it("reset empties them, and a name registered twice is refused as prom-client refuses it", async () => {
    const registry = new Registry();
    const histogram = new TaskHistogram("h_seconds", "A histogram.", BUCKETS, registry);
    histogram.observe("a", 1);
    registry.resetMetrics();
    assert.doesNotMatch(await registry.metrics(), /task="a"/);
    assert.throws(
      () => new TaskStatusCounter("h_seconds", "Again.", registry),
      /already been registered/,
    );
  });
});
