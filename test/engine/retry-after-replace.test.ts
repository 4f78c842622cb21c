/**
 * A task replaced while its attempt runs still owes that occurrence its retry
 * (real SQLite file, real clock). The fault suite at 5,000 tasks found runs
 * that failed attempt 1 and were never retried, nor marked so: a node that
 * registered a task another node had stored first adopted the stored one
 * (`DurableTasks.adoptStored`), which replaced the task object whose run was
 * in flight, and the attempt's end took the replaced object for a removed
 * task. A task really removed still gets no retry.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { waitFor } from "../helpers/pg.js";

const WAIT = { timeoutMs: 30_000, intervalMs: 20 };
const RETRY = { attempts: 1, backoffMs: 0, factor: 1 };

async function withFlakyTask(
  test: (rig: {
    scheduler: Scheduler;
    starts: number[];
    /** Resolves once attempt 1 runs; calling the function it gives makes attempt 1 fail. */
    firstRunning: Promise<() => void>;
    rows: () => Promise<string[]>;
  }) => Promise<void>,
): Promise<void> {
  const db = await tempDb();
  const store = new SqliteStore({ path: db.path });
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    store,
    nodeId: "n1",
    timezone: "UTC",
    clock: new SystemClock(),
    testMode: true,
    logger: silentLogger,
  });
  scheduler.on("scheduler:error", () => undefined);
  const starts: number[] = [];
  let running!: (fail: () => void) => void;
  const firstRunning = new Promise<() => void>((resolve) => (running = resolve));
  scheduler.defineHandler("flaky", async (ctx) => {
    starts.push(ctx.attempt);
    if (ctx.attempt > 1) return;
    await new Promise<void>((fail) => running(fail));
    throw new Error("attempt 1 fails");
  });
  const rows = async (): Promise<string[]> =>
    (await store.history({ taskName: "flaky" }))
      .map((r) => `${r.status}#${r.attempt}`)
      .sort()
      .reverse();
  try {
    await scheduler.start();
    await scheduler.registerTask("flaky", new Date(Date.now() + 200), "flaky", { retries: RETRY });
    await test({ scheduler, starts, firstRunning, rows });
  } finally {
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
    await db.cleanup();
  }
}

describe("an attempt whose task was replaced while it ran", () => {
  it("is retried, under the task registered in its place", async () => {
    await withFlakyTask(async ({ scheduler, starts, firstRunning, rows }) => {
      const fail = await firstRunning;
      await scheduler.registerTask("flaky", new Date(Date.now() + 3_600_000), "flaky", {
        retries: RETRY,
        replace: true,
      });
      fail();
      await waitFor("the retry's row", async () => (await rows()).includes("succeeded#2"), WAIT);
      assert.deepEqual(starts, [1, 2]);
      assert.deepEqual(await rows(), ["succeeded#2", "failed#1"]);
    });
  });

  it("is not retried when its task was removed", async () => {
    await withFlakyTask(async ({ scheduler, starts, firstRunning, rows }) => {
      const fail = await firstRunning;
      assert.equal(await scheduler.unregisterTask("flaky"), true);
      fail();
      await waitFor("attempt 1's row", async () => (await rows()).includes("failed#1"), WAIT);
      await scheduler.stop();
      assert.deepEqual(starts, [1]);
      assert.deepEqual(await rows(), ["failed#1"]);
    });
  });
});
