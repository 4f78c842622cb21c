/**
 * Issue 16, item 4: the metrics an alert on silence reads — each task's last
 * success and the store's health — on real SQLite files.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createSchedulerMetrics } from "../../src/http/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { waitFor } from "../helpers/pg.js";
import {
  damageTable,
  realTimeScheduler,
  shutdown,
  sqliteScheduler,
  tempDb,
} from "../helpers/durable.js";

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

const WAIT = { timeoutMs: 30_000, intervalMs: 20 };
const LAST_SUCCESS = "orchestrator_task_last_success_timestamp_seconds";

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("metrics for alerting on silence", () => {
  it("each task's last success: kept through failures, absent before the first, gone with the task, back from the store after a restart", async () => {
    const db = await tempDb();
    cleanups.push(db.cleanup);
    const first = sqliteScheduler(db.path, { testMode: true });
    let fail = false;
    first.scheduler.defineHandler("job", () => {
      if (fail) throw new Error("broken");
    });
    first.scheduler.defineHandler("never", () => {
      throw new Error("never works");
    });
    await first.scheduler.registerTask("job", "0 0 1 1 *", "job");
    await first.scheduler.registerTask("never", "0 0 1 1 *", "never");
    await first.scheduler.registerTask("gone", "0 0 1 1 *", "job");
    const metrics = createSchedulerMetrics(first.scheduler, { defaultMetrics: false });
    try {
      const okAt = first.clock.nowMs();
      await first.scheduler.triggerTask("job");
      await first.scheduler.triggerTask("never");
      await first.scheduler.triggerTask("gone");
      first.clock.advance("10m");
      fail = true;
      await first.scheduler.triggerTask("job");
      let text = await metrics.render();
      assert.match(text, new RegExp(`^# TYPE ${LAST_SUCCESS} gauge$`, "m"));
      assert.equal(sample(text, `${LAST_SUCCESS}{task="job"}`), okAt / 1000);
      assert.equal(sample(text, `${LAST_SUCCESS}{task="gone"}`), okAt / 1000);
      assert.doesNotMatch(text, new RegExp(`${LAST_SUCCESS}\\{task="never"\\}`));

      await first.scheduler.unregisterTask("gone");
      text = await metrics.render();
      assert.doesNotMatch(text, new RegExp(`${LAST_SUCCESS}\\{task="gone"\\}`));
    } finally {
      metrics.dispose();
      await shutdown(first);
    }

    // Later processes on the same file: "never" now succeeds, then the next process shows
    // that success from the stored last run; "job", whose last run failed, has no series.
    const second = sqliteScheduler(db.path, { testMode: true, clock: first.clock });
    second.scheduler.defineHandler("job", () => {});
    second.scheduler.defineHandler("never", () => {});
    await second.scheduler.history(undefined, { limit: 1 }); // loads the stored tasks
    const okAt = second.clock.nowMs();
    await second.scheduler.triggerTask("never");
    await shutdown(second);
    const third = sqliteScheduler(db.path, { testMode: true, clock: first.clock });
    third.scheduler.defineHandler("job", () => {});
    third.scheduler.defineHandler("never", () => {});
    const restored = createSchedulerMetrics(third.scheduler, { defaultMetrics: false });
    try {
      await third.scheduler.history(undefined, { limit: 1 });
      const text = await restored.render();
      assert.equal(sample(text, `${LAST_SUCCESS}{task="never"}`), okAt / 1000, text);
      assert.doesNotMatch(text, new RegExp(`${LAST_SUCCESS}\\{task="(job|gone)"\\}`));
    } finally {
      restored.dispose();
      await shutdown(third);
    }
  });

  it("the store's health: up with the time of its last answer, then down while claims fail", async () => {
    const healthy = await tempDb();
    const damaged = await tempDb();
    cleanups.push(healthy.cleanup, damaged.cleanup);
    const seed = new SqliteStore({ path: damaged.path });
    await seed.open({ nodeId: "seed", clock: new SystemClock() });
    await seed.close();
    damageTable(damaged.path, "claims");

    for (const [path, up] of [
      [healthy.path, 1],
      [damaged.path, 0],
    ] as const) {
      const store = new SqliteStore({ path });
      const parts = realTimeScheduler(store, { nodeId: "node-a", leaseMs: 1_000 });
      const metrics = createSchedulerMetrics(parts.scheduler, { defaultMetrics: false });
      try {
        const before = await metrics.render();
        assert.equal(sample(before, "orchestrator_store_up"), 1);
        assert.equal(sample(before, "orchestrator_store_last_check_timestamp_seconds"), 0);
        parts.scheduler.defineHandler("tick", () => {});
        await parts.scheduler.registerTask("tick", { every: 100 }, "tick");
        const startedMs = Date.now();
        await parts.scheduler.start();
        if (up === 1) {
          await waitFor("a run", () => (parts.scheduler.getTask("tick")?.runCount ?? 0) > 0, WAIT);
        } else {
          await waitFor(
            "the store found unusable",
            () => !parts.scheduler.storeStatus.usable,
            WAIT,
          );
        }
        const text = await metrics.render();
        assert.equal(sample(text, "orchestrator_store_up"), up, text);
        const checked = sample(text, "orchestrator_store_last_check_timestamp_seconds") ?? 0;
        assert.ok(checked * 1000 >= startedMs && checked * 1000 <= Date.now(), text);
      } finally {
        metrics.dispose();
        await parts.scheduler.stop();
        await store.close();
        await parts.dispatcher.close();
      }
    }
  });
});
