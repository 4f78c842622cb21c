/**
 * The SQLite store on a file that fails under it: full (the `maxSizeBytes`
 * cap stands in for a full disk, as `PRAGMA max_page_count` fails writes with
 * SQLITE_FULL) and damaged (a page overwritten with garbage).
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { after, describe, it } from "node:test";
import { InvalidArgumentError, StoreError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { damageTable, tempDb } from "../helpers/durable.js";
import { runRecord, settle } from "./contract-helpers.js";

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

async function dbPath(): Promise<string> {
  const { path, cleanup } = await tempDb();
  cleanups.push(cleanup);
  return path;
}

const clock = (): ManualClock => new ManualClock("2030-06-01T12:00:00Z");

function driverCode(error: unknown): unknown {
  return (error as { cause?: { code?: unknown } }).cause?.code;
}

describe("SqliteStore on a full or damaged file", () => {
  it("refuses a maxSizeBytes that is not a whole number of bytes from 1", () => {
    for (const maxSizeBytes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new SqliteStore({ path: "x.db", maxSizeBytes }),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.argument === "options.maxSizeBytes",
      );
    }
  });

  it("fails every write of a batch with SQLITE_FULL when one of them fills the file, and writes again once there is room", async () => {
    const path = await dbPath();
    const sizing = new SqliteStore({ path });
    await sizing.open({ nodeId: "n", clock: clock() });
    await sizing.close();
    const { size } = statSync(path);
    const store = new SqliteStore({ path, maxSizeBytes: size + 8 * 4096 });
    await store.open({ nodeId: "n", clock: clock() });
    try {
      const big = { text: "x".repeat(200_000) };
      // Called in one tick: one transaction (group commit), which SQLite rolls back whole on SQLITE_FULL.
      const { values, errors } = await settle([
        store.recordRun(runRecord("small", 1)),
        store.recordRun(runRecord("big", 2, { output: big })),
        store.recordRun(runRecord("small", 3)),
      ]);
      assert.equal(values.length, 0);
      assert.equal(errors.length, 3);
      for (const error of errors) {
        assert.ok(error instanceof StoreError, String(error));
        assert.equal(driverCode(error), "SQLITE_FULL", (error as Error).message);
      }
      assert.deepEqual(await store.history(), []);
      // A write that fits goes through: the store itself is fine.
      await store.recordRun(runRecord("small", 4));
      assert.deepEqual(
        (await store.history()).map((run) => run.scheduledAt),
        [4],
      );
    } finally {
      await store.close();
    }
  });

  it("with quickCheck, refuses a damaged file (naming it, leaving it as it is) and opens a sound one", async () => {
    const path = await dbPath();
    const writer = new SqliteStore({ path });
    await writer.open({ nodeId: "n", clock: clock() });
    for (let i = 0; i < 200; i++) await writer.recordRun(runRecord(`task-${i % 4}`, i));
    await writer.close();

    const sound = new SqliteStore({ path, quickCheck: true });
    await sound.open({ nodeId: "n", clock: clock() });
    await sound.close();

    damageTable(path, "run_history");
    const before = await readFile(path);
    const checked = new SqliteStore({ path, quickCheck: true });
    await assert.rejects(
      checked.open({ nodeId: "n", clock: clock() }),
      (error: unknown) =>
        error instanceof StoreError &&
        error.message.includes(JSON.stringify(path)) &&
        error.message.includes("quick_check") &&
        error.message.includes("damaged"),
    );
    assert.deepEqual(await readFile(path), before);

    // Without the check the file opens; reading the damaged table is what fails.
    const unchecked = new SqliteStore({ path });
    await unchecked.open({ nodeId: "n", clock: clock() });
    try {
      await assert.rejects(unchecked.history(), (error: unknown) => {
        return error instanceof StoreError && driverCode(error) === "SQLITE_CORRUPT";
      });
    } finally {
      await unchecked.close();
    }
  });
});
