import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { register as globalRegistry } from "prom-client";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { createSchedulerMetrics } from "../../src/http/metrics.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { startHarness } from "./helpers.js";

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("http /metrics", () => {
  it("serves the scheduler's metrics in Prometheus text format after runs", async () => {
    const h = await startHarness(async (scheduler) => {
      await scheduler.registerTask("minutely", "* * * * *", () => {});
      await scheduler.registerTask("broken", "0 0 1 1 *", () => {
        throw new Error("nope");
      });
      await scheduler.registerTask("idle", "0 0 1 1 *", () => {});
      await scheduler.registerTask("hourly", "0 * * * *", () => {}, { misfire: "skip" });
      await scheduler.pauseTask("idle");
    });
    try {
      // 10:01:00 is due; run it 2.5 s late.
      h.clock.set("2026-03-01T10:01:02.500Z");
      await h.scheduler.runPending();
      await h.scheduler.triggerTask("broken");
      await h.scheduler.triggerTask("minutely");
      // Skip past three hourly runs: the "skip" misfire policy reports them missed.
      h.clock.set("2026-03-01T13:30:00Z");
      await h.scheduler.runPending();

      const response = await h.bearer("/metrics");
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      for (const name of [
        "orchestrator_runs_total",
        "orchestrator_run_duration_seconds",
        "orchestrator_fire_lateness_seconds",
        "orchestrator_tasks",
        "orchestrator_claims_total",
        "orchestrator_lease_losses_total",
        "orchestrator_scheduler_errors_total",
        "process_cpu_user_seconds_total",
        "nodejs_eventloop_lag_seconds",
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
      }
      assert.ok(
        (sample(text, 'orchestrator_runs_total{task="minutely",status="succeeded"}') ?? 0) >= 3,
      );
      assert.equal(sample(text, 'orchestrator_runs_total{task="broken",status="failed"}'), 1);
      assert.ok((sample(text, 'orchestrator_runs_total{task="hourly",status="missed"}') ?? 0) >= 1);
      assert.equal(sample(text, 'orchestrator_run_duration_seconds_count{task="broken"}'), 1);
      // The 10:01 run started 2.5 s late (the first lateness observation of that task).
      assert.ok(
        (sample(text, 'orchestrator_fire_lateness_seconds_sum{task="minutely"}') ?? 0) >= 2.5,
      );
      const onTime = sample(
        text,
        'orchestrator_fire_lateness_seconds_bucket{le="1",task="minutely"}',
      );
      const all = sample(text, 'orchestrator_fire_lateness_seconds_count{task="minutely"}') ?? 0;
      assert.ok(onTime !== undefined && onTime < all, "the late run is above the 1 s bucket");
      assert.equal(sample(text, 'orchestrator_tasks{state="paused"}'), 1);
      assert.equal(sample(text, 'orchestrator_tasks{state="active"}'), 3);
      assert.equal(sample(text, 'orchestrator_tasks{state="quarantined"}'), 0);
      // A MemoryStore with a single user needs no claims: none are counted.
      assert.equal(sample(text, 'orchestrator_claims_total{outcome="won"}'), 0);
      assert.equal(sample(text, 'orchestrator_claims_total{outcome="lost"}'), 0);
      assert.equal(sample(text, "orchestrator_lease_losses_total"), 0);
    } finally {
      await h.close();
    }
  });

  it("counts claims won and lost when two schedulers share a store", async () => {
    const clock = new ManualClock("2026-03-01T10:00:00Z");
    const store = new MemoryStore();
    const dispatchers = [new Dispatcher(), new Dispatcher()] as const;
    const [a, b] = dispatchers.map(
      (dispatcher, i) =>
        new Scheduler(dispatcher, {
          clock,
          store,
          nodeId: `node-${i}`,
          timezone: "UTC",
          logger: silentLogger,
        }),
    ) as [Scheduler, Scheduler];
    const metrics = createSchedulerMetrics(a, { defaultMetrics: false });
    try {
      const tasks = ["t0", "t1", "t2", "t3"];
      for (const name of tasks) await a.registerTask(name, "* * * * *", () => {});
      // The store holds one record per name; b keeps its copies in memory only.
      for (const name of tasks) await b.registerTask(name, "* * * * *", () => {}).catch(() => {});
      clock.advance("1m");
      await Promise.all([a.runPending(), b.runPending()]);
      const text = await metrics.render();
      const won = sample(text, 'orchestrator_claims_total{outcome="won"}') ?? 0;
      const lost = sample(text, 'orchestrator_claims_total{outcome="lost"}') ?? 0;
      assert.equal(won + lost, tasks.length, text);
      assert.equal(
        won,
        a.listTasks().reduce((n, t) => n + t.runCount, 0),
      );
    } finally {
      metrics.dispose();
      await a.stop();
      await b.stop();
      for (const dispatcher of dispatchers) await dispatcher.close();
    }
  });

  it("keeps one registry per server, never prom-client's global one", async () => {
    const a = await startHarness(async (s) => s.registerTask("a", "0 0 * * *", () => {}));
    const b = await startHarness(async (s) => s.registerTask("b", "0 0 * * *", () => {}));
    try {
      await a.scheduler.triggerTask("a");
      const textA = await (await a.bearer("/metrics")).text();
      const textB = await (await b.bearer("/metrics")).text();
      assert.equal(sample(textA, 'orchestrator_runs_total{task="a",status="succeeded"}'), 1);
      assert.doesNotMatch(textB, /task="a"/);
      assert.equal(globalRegistry.getSingleMetric("orchestrator_runs_total"), undefined);
      assert.notEqual(a.server.metrics?.registry, b.server.metrics?.registry);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("stops counting once disposed", async () => {
    const h = await startHarness(async (s) => s.registerTask("t", "0 0 * * *", () => {}), {
      metrics: false,
    });
    try {
      const metrics = createSchedulerMetrics(h.scheduler, { defaultMetrics: false });
      await h.scheduler.triggerTask("t");
      metrics.dispose();
      await h.scheduler.triggerTask("t");
      const text = await metrics.render();
      assert.equal(sample(text, 'orchestrator_runs_total{task="t",status="succeeded"}'), 1);
      assert.doesNotMatch(text, /process_cpu/);
      assert.equal((await h.bearer("/metrics")).status, 404);
    } finally {
      await h.close();
    }
  });
  it('gives at most maxTaskSeries task names series of their own; later ones share task="_other"', async () => {
    const clock = new ManualClock("2026-03-01T10:00:30Z");
    const scheduler = new Scheduler(new Dispatcher(), {
      clock,
      timezone: "UTC",
      logger: silentLogger,
    });
    assert.throws(
      () => createSchedulerMetrics(scheduler, { maxTaskSeries: -1 }),
      /`options\.maxTaskSeries` to be a whole number of 0 or more, got -1/,
    );
    const metrics = createSchedulerMetrics(scheduler, { defaultMetrics: false, maxTaskSeries: 2 });
    try {
      for (const name of ["a", "b", "c", "d"])
        await scheduler.registerTask(name, "* * * * *", () => {});
      clock.advance("1m");
      await scheduler.runPending();
      const text = await metrics.render();
      const task = (name: string) =>
        sample(text, `orchestrator_runs_total{task="${name}",status="succeeded"}`);
      assert.deepEqual(
        ["a", "b", "c", "d", "_other"].map(task),
        [1, 1, undefined, undefined, 2],
        text,
      );
      assert.equal(sample(text, 'orchestrator_run_duration_seconds_count{task="_other"}'), 2);
      // Last success: the tasks with series of their own only.
      assert.match(text, /orchestrator_task_last_success_timestamp_seconds\{task="a"\}/);
      assert.doesNotMatch(
        text,
        /orchestrator_task_last_success_timestamp_seconds\{task="(c|d|_other)"\}/,
      );
    } finally {
      metrics.dispose();
      await scheduler.stop();
    }
  });

  it("counts a run's start in the turn it starts (a scrape while its callback runs sees it), and once", async () => {
    const clock = new ManualClock("2026-03-01T10:00:30Z");
    const scheduler = new Scheduler(new Dispatcher(), {
      clock,
      timezone: "UTC",
      logger: silentLogger,
    });
    const metrics = createSchedulerMetrics(scheduler, { defaultMetrics: false });
    const lateness = 'orchestrator_fire_lateness_seconds_count{task="t"}';
    try {
      let scraped: Promise<string> | undefined;
      // Scraped while the callback runs, once it awaited: its start is told (runs:started) in
      // the turn the batch's callbacks are called, before anything else can run.
      await scheduler.registerTask("t", "* * * * *", async () => {
        await Promise.resolve();
        scraped = metrics.render();
      });
      clock.advance("1m");
      await scheduler.runPending();
      assert.equal(sample((await scraped) ?? "", lateness), 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(sample(await metrics.render(), lateness), 1);
      clock.advance("1m");
      await scheduler.runPending();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(sample(await metrics.render(), lateness), 2);
    } finally {
      metrics.dispose();
      await scheduler.stop();
    }
  });
});
