/**
 * Issue 15, obs. 10: another process holding the SQLite write lock for a few
 * seconds (a backup, a `sqlite3` session, the CLI) made every task's runs
 * skip with reason "claimed": no history row, no log line, no catch-up. Now
 * the claims wait for the lock (the event loop turning meanwhile), and runs
 * answered late follow the misfire policy, each with its row.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { PLAN_AHEAD } from "../helpers/plan-ahead.js";
import { recordingLogger, turns } from "../helpers/scheduler.js";

describe("a SQLite write lock held by another process (issue 15, obs. 10)", () => {
  it("delays the claims; runs answered past their grace are recorded missed and logged, none skipped silently", async () => {
    const db = await tempDb();
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const store = new SqliteStore({ path: db.path, busyTimeoutMs: 600_000 });
    const logger = recordingLogger();
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher, {
      clock,
      store,
      nodeId: "node-a",
      timezone: "UTC",
      logger,
      testMode: true,
      planAhead: PLAN_AHEAD,
    });
    const other = new Database(db.path);
    try {
      const ran: string[] = [];
      scheduler.defineHandler("h", (ctx) => void ran.push(ctx.taskName));
      for (const name of ["a", "b", "c"])
        await scheduler.registerTask(name, "* * * * *", "h", { misfireGraceMs: 1_000 });
      // The lock is taken just before the instant, and held for 90 s of the scheduler's time.
      other.prepare("BEGIN IMMEDIATE").run();
      clock.set("2026-01-01T00:01:00Z");
      const pending = scheduler.runPending();
      await turns(20);
      clock.set("2026-01-01T00:02:30Z");
      other.prepare("COMMIT").run();
      await pending;
      assert.deepEqual(
        ran,
        [],
        "nothing ran 90 s late past its grace (misfire run-once, next one due)",
      );
      for (const name of ["a", "b", "c"]) {
        const rows = await scheduler.history(name);
        assert.deepEqual(
          rows.map(
            (row) =>
              `${new Date(row.scheduledAt).toISOString()} ${row.status}: ${row.error?.message ?? ""}`,
          ),
          [
            "2026-01-01T00:01:00.000Z missed: claimed 90000 ms after its time, past its grace of 1000 ms (misfire: run-once)",
          ],
          name,
        );
      }
      const missedLines = logger.entries.filter(
        (entry) => entry.level === "warn" && entry.msg === "Missed run",
      );
      assert.deepEqual(missedLines.map((entry) => entry.obj.taskName).sort(), ["a", "b", "c"]);
    } finally {
      if (other.inTransaction) other.prepare("ROLLBACK").run();
      other.close();
      await scheduler.stop();
      await store.close();
      await dispatcher.close();
      await db.cleanup();
    }
  });
});
