/**
 * StoreStateSync: how changes made by `orchestrator pause|resume|remove`
 * reach a daemon on the same SQLite file (a real Scheduler on a real file,
 * another store instance playing the CLI).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { StoreStateSync } from "../../src/cli/store-state-sync.js";
import type { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { TaskRecord } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";
import { realTimeScheduler, tempDb } from "../helpers/durable.js";
import { waitFor } from "../helpers/pg.js";

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

const WAIT = { timeoutMs: 30_000, intervalMs: 20 };

/** A SQLite store whose task list can be made to fail, as a damaged page under it would. */
class FlakyListStore extends SqliteStore {
  failing = false;
  reads = 0;
  override listTasks(): Promise<TaskRecord[]> {
    this.reads++;
    return this.failing
      ? Promise.reject(new Error("database disk image is malformed"))
      : super.listTasks();
  }
}

async function daemon(): Promise<{
  scheduler: Scheduler;
  store: FlakyListStore;
  path: string;
  logger: ReturnType<typeof realTimeScheduler>["logger"];
  sync: StoreStateSync;
}> {
  const { path, cleanup } = await tempDb();
  const store = new FlakyListStore({ path });
  const { scheduler, logger, dispatcher } = realTimeScheduler(store);
  scheduler.defineHandler("h", () => {});
  await scheduler.start();
  const sync = new StoreStateSync(scheduler, logger);
  cleanups.push(async () => {
    sync.stop();
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
    await cleanup();
  });
  return { scheduler, store, path, logger, sync };
}

describe("StoreStateSync", () => {
  it("logs failing reads once, and once when they succeed again (it reads four times a second)", async () => {
    const d = await daemon();
    d.sync.start();
    await waitFor("a first read", () => d.store.reads > 0, WAIT);
    d.store.failing = true;
    const from = d.store.reads;
    await waitFor("five failed reads", () => d.store.reads >= from + 5, WAIT);
    const failing = d.logger.entries.filter((e) => e.msg?.startsWith("could not read task states"));
    assert.equal(failing.length, 1);
    d.store.failing = false;
    await waitFor("the reads to work again", () =>
      d.logger.entries.some((e) => e.msg === "task states readable from the store again"),
    );
    const back = d.logger.entries.find(
      (e) => e.msg === "task states readable from the store again",
    );
    assert.ok((back?.obj.failedReads as number) >= 5);
    assert.equal(
      d.logger.entries.filter((e) => e.msg?.startsWith("could not read task states")).length,
      1,
    );
  });

  it("removes here a task that another process removed from the store, and only that", async () => {
    const d = await daemon();
    for (const name of ["gone", "kept", "own"]) {
      await d.scheduler.registerTask(name, "0 3 * * *", "h");
    }
    d.sync.start();
    const reads = d.store.reads;
    await waitFor("a read that saw the tasks", () => d.store.reads > reads + 1, WAIT);

    // `orchestrator remove gone`: another connection deletes the row.
    const cli = new SqliteStore({ path: d.path });
    await cli.open({ nodeId: "cli", clock: new SystemClock() });
    try {
      assert.equal(await cli.deleteTask("gone"), true);
    } finally {
      await cli.close();
    }
    await waitFor("the task removed here", () => d.scheduler.getTask("gone") === undefined, WAIT);
    await d.scheduler.unregisterTask("own");
    const after = d.store.reads;
    await waitFor("two more reads", () => d.store.reads > after + 2, WAIT);
    assert.deepEqual(
      d.scheduler.listTasks().map((task) => task.name),
      ["kept"],
    );
    const removed = d.logger.entries.filter((e) => e.msg === "task removed (orchestrator remove)");
    assert.deepEqual(
      removed.map((e) => e.obj.task),
      ["gone"],
    );
  });
});
