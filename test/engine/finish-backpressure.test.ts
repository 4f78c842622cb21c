/**
 * Backpressure from the ends of runs to their claims (issue 17, bounded
 * queues): while the store has not taken the queued ends of runs (the finish
 * batcher's backlog at its bound), new runs wait before they are claimed and
 * started, instead of piling their ends up without bound; the misfire policy,
 * applied when they really start, decides what a late one becomes. Real
 * SQLite file, ManualClock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { FINISH_BATCHER_DEFAULTS } from "../../src/engine/finish-batcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { FinishRequest } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { generateKey } from "../../src/crypto/key-material.js";
import { tempDb } from "../helpers/durable.js";
import { PLAN_AHEAD } from "../helpers/plan-ahead.js";

/** A SQLite store whose batched finishes wait until `release()`. */
class HeldFinishes extends SqliteStore {
  batches = 0;
  #release: () => void = () => {};
  readonly #held = new Promise<void>((resolve) => (this.#release = resolve));

  release(): void {
    this.#release();
  }

  override async finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    this.batches++;
    await this.#held;
    return super.finishRuns(finishes);
  }
}

async function turns(until: () => boolean, max = 10_000): Promise<void> {
  for (let turn = 0; turn < max && !until(); turn++)
    await new Promise((resolve) => setImmediate(resolve));
}

describe("backpressure from finishes to claims", () => {
  it("new runs wait before their claims while the ends of runs are queued to the bound", async () => {
    const { maxBatch, maxInFlight, maxQueued } = FINISH_BATCHER_DEFAULTS;
    // Enough runs at one instant that, with the first batches held in flight, the backlog reaches the bound.
    const tasks = maxBatch * maxInFlight + maxQueued + 100;
    const db = await tempDb();
    const store = new HeldFinishes({ path: db.path });
    const clock = new ManualClock("2026-01-01T00:00:30Z");
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher, {
      store,
      clock,
      planAhead: PLAN_AHEAD,
      timezone: "UTC",
      logger: silentLogger,
      nodeId: "node-a",
      encryptionKey: generateKey(),
    });
    let calls = 0;
    scheduler.defineHandler("count", () => void calls++);
    try {
      // Overlap "allow": with "skip" a run whose end is not written yet still counts as running,
      // and the next one is skipped before it gets here.
      for (let i = 0; i < tasks; i++)
        await scheduler.registerTask(`t${i}`, "* * * * *", "count", { overlap: "allow" });
      clock.set("2026-01-01T00:01:00Z");
      const first = scheduler.runPending();
      await turns(() => calls === tasks && store.batches === maxInFlight);
      assert.equal(calls, tasks, "the first instant's runs all started");
      assert.equal(store.batches, maxInFlight, "their first batches wait in the store");

      clock.set("2026-01-01T00:02:00Z");
      const second = scheduler.runPending();
      await turns(() => calls > tasks, 2_000);
      assert.equal(calls, tasks, "no run of the next instant started while the backlog is full");

      store.release();
      await Promise.all([first, second]);
      const outcomes = new Map<string, number>();
      for (const row of await store.history({ limit: 3 * tasks })) {
        const key = `${row.status} ${new Date(row.scheduledAt).toISOString()} ${row.error?.message ?? ""}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      assert.equal(
        calls,
        2 * tasks,
        `once the store took the backlog, the next instant's runs ran: ${JSON.stringify([...outcomes])}`,
      );
      const rows = await store.history({ limit: 3 * tasks });
      assert.equal(rows.filter((r) => r.status === "succeeded").length, 2 * tasks);
    } finally {
      store.release();
      await scheduler.stop();
      await store.close();
      await dispatcher.close();
      await db.cleanup();
    }
  });
});
