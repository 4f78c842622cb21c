/**
 * Issue 13, item 18: SQLite retention deletes through indexes, in batches
 * that let the writes of running tasks in between (SQLite has one writer).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as sql from "../../src/store/sqlite/queries.js";
import { PRUNE_BATCH_ROWS } from "../../src/store/sqlite/prune.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { tempDb, withRawDb } from "../helpers/durable.js";
import { runRecord } from "./contract-helpers.js";

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

const DAY = 86_400_000;

async function openStore(): Promise<{ store: SqliteStore; path: string; clock: ManualClock }> {
  const { path, cleanup } = await tempDb();
  const clock = new ManualClock("2030-06-01T12:00:00Z");
  const store = new SqliteStore({ path });
  await store.open({ nodeId: "n", clock });
  cleanups.push(async () => {
    await store.close();
    await cleanup();
  });
  return { store, path, clock };
}

describe("SQLite history retention", () => {
  it("deletes in batches, letting a write in before the prune is over", async () => {
    const { store, clock } = await openStore();
    const old = clock.nowMs() - 40 * DAY;
    const rows = 3 * PRUNE_BATCH_ROWS + 7;
    for (let i = 0; i < rows; i++) await store.recordRun(runRecord("chatty", old + i));
    let pruned: number | undefined;
    const pruning = store.pruneHistory({ maxAgeMs: 30 * DAY, maxRows: Number.MAX_SAFE_INTEGER });
    void pruning.then((n) => (pruned = n));
    await new Promise((resolve) => setImmediate(resolve));
    // A run's result, written while the prune goes on: it does not wait for all of it.
    await store.recordRun(runRecord("fresh", clock.nowMs()));
    assert.equal(pruned, undefined, "the prune is not over yet");
    assert.equal(await pruning, rows);
    assert.deepEqual(
      (await store.history()).map((run) => run.taskName),
      ["fresh"],
    );
  });

  it("prunes by count and by task in batches too", async () => {
    const { store, clock } = await openStore();
    const now = clock.nowMs();
    const rows = 2 * PRUNE_BATCH_ROWS + 3;
    for (let i = 0; i < rows; i++) {
      await store.recordRun(runRecord(i % 2 === 0 ? "even" : "odd", now - rows + i));
    }
    const unbounded = Number.MAX_SAFE_INTEGER;
    const keepLast = new Map([["even", 3]]);
    const byTask = await store.pruneHistory({ maxAgeMs: unbounded, maxRows: unbounded, keepLast });
    assert.equal(byTask, PRUNE_BATCH_ROWS + 2 - 3);
    assert.equal((await store.history({ taskName: "even", limit: 10_000 })).length, 3);
    const byCount = await store.pruneHistory({ maxAgeMs: unbounded, maxRows: 10 });
    assert.equal(byCount, PRUNE_BATCH_ROWS + 1 + 3 - 10);
    assert.equal((await store.history({ limit: 10_000 })).length, 10);
  });

  it("finds the rows to delete through indexes, never by scanning the history", async () => {
    const { store, path } = await openStore();
    await store.close();
    const plans = withRawDb(path, (db) =>
      (
        [
          [sql.PRUNE_AGED_BATCH, { oldest: 0, batch: 1 }],
          [sql.SELECT_ROWS_CUTOFF, { maxRows: 1 }],
          [sql.PRUNE_THROUGH_BATCH, { through: 0, batch: 1 }],
          [sql.SELECT_TASK_CUTOFF, { taskName: "t", keep: 1 }],
          [sql.PRUNE_TASK_THROUGH_BATCH, { taskName: "t", through: 0, batch: 1 }],
        ] as const
      ).map(([statement, params]) => {
        const steps = db.prepare(`EXPLAIN QUERY PLAN ${statement}`).all(params) as {
          detail: string;
        }[];
        return { statement: statement, details: steps.map((step) => step.detail) };
      }),
    );
    for (const { statement, details } of plans) {
      const text = details.join(" | ");
      const message = `${statement}\n${text}`;
      assert.doesNotMatch(text, /TEMP B-TREE/, message);
      // The newest rows beyond the newest maxRows: a walk down the primary key, maxRows + 1 rows long.
      if (statement === sql.SELECT_ROWS_CUTOFF) continue;
      assert.doesNotMatch(text, /SCAN run_history(?! USING)/, message);
      assert.match(text, /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/, message);
    }
  });
});
