/** The run-history part of the store conformance suite (see contract.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunRecord } from "../../src/store/store.js";
import { NODE_B, runRecord, taskRecord, withStore, type MakeStore } from "./contract-helpers.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export function runHistoryContract(makeStore: MakeStore): void {
  describe("run history", () => {
    it("records runs and returns them newest first, as given", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const rows: RunRecord[] = [
          runRecord("a", t0 - 3 * MINUTE, { claimId: "c-1" }),
          runRecord("a", t0 - 2 * MINUTE, {
            status: "failed",
            attempt: 2,
            nodeId: NODE_B,
            error: { message: "boom ✗", stack: "Error: boom\n    at x (y.js:1:1)", code: "E_BOOM" },
          }),
          runRecord("b", t0 - 2 * MINUTE, {
            status: "missed",
            startedAt: null,
            finishedAt: null,
          }),
          runRecord("a", t0 - MINUTE, { status: "interrupted", error: { message: "node died" } }),
        ];
        for (const row of rows) await store.recordRun(row);
        assert.deepEqual(await store.history(), [...rows].reverse());
      });
    });

    it("keeps a run's JSON output, and leaves it out when there is none", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const output = {
          exitCode: 2,
          stdout: "ok ✓\n".repeat(1000),
          stderr: "",
          nested: { a: [1, null] },
        };
        const withOutput = runRecord("o", t0 - 2, {
          status: "failed",
          output,
          error: { message: "exit 2" },
        });
        const without = runRecord("o", t0 - 1);
        await store.recordRun(withOutput);
        await store.recordRun(without);
        const [second, first] = await store.history({ taskName: "o" });
        assert.deepEqual(first, withOutput);
        assert.deepEqual(second, without);
        assert.equal(second !== undefined && "output" in second, false);
      });
    });

    it("records every status", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const statuses = [
          "succeeded",
          "failed",
          "timed-out",
          "cancelled",
          "skipped",
          "missed",
          "interrupted",
          "lost",
        ] as const;
        for (const [i, status] of statuses.entries()) {
          await store.recordRun(runRecord("s", t0 + i, { status }));
        }
        assert.deepEqual(
          (await store.history({ taskName: "s" })).map((row) => row.status),
          [...statuses].reverse(),
        );
      });
    });

    it("pages with offset and filters by status, of one task or all", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const statuses = ["succeeded", "failed", "cancelled", "failed", "succeeded"] as const;
        for (const [i, status] of statuses.entries()) {
          await store.recordRun(runRecord("p", t0 + i, { status }));
          await store.recordRun(runRecord("q", t0 + i, { status: "failed" }));
        }
        const at = (rows: RunRecord[]): number[] => rows.map((row) => row.scheduledAt - t0);
        assert.deepEqual(at(await store.history({ taskName: "p", limit: 2 })), [4, 3]);
        assert.deepEqual(at(await store.history({ taskName: "p", limit: 2, offset: 2 })), [2, 1]);
        assert.deepEqual(at(await store.history({ taskName: "p", offset: 4 })), [0]);
        assert.deepEqual(at(await store.history({ taskName: "p", offset: 9 })), []);
        assert.deepEqual(
          at(await store.history({ taskName: "p", statuses: ["failed", "cancelled"] })),
          [3, 2, 1],
        );
        assert.deepEqual(
          at(await store.history({ taskName: "p", statuses: ["failed"], offset: 1, limit: 1 })),
          [1],
        );
        const cancelled = await store.history({ statuses: ["cancelled"] });
        assert.deepEqual(
          cancelled.map((row) => [row.taskName, row.scheduledAt - t0]),
          [["p", 2]],
        );
        assert.equal((await store.history({ statuses: ["failed"], offset: 1 })).length, 6);
        assert.deepEqual(await store.history({ taskName: "p", statuses: [] }), []);
      });
    });

    it("filters by task name and honours limit (default 100)", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        for (let i = 0; i < 120; i++) {
          await store.recordRun(runRecord(i % 3 === 0 ? "x" : "y", t0 - (120 - i) * 1000));
        }
        assert.equal((await store.history()).length, 100);
        const xs = await store.history({ taskName: "x" });
        assert.equal(xs.length, 40);
        assert.ok(xs.every((row) => row.taskName === "x"));
        const newest = await store.history({ taskName: "y", limit: 3 });
        assert.deepEqual(
          newest.map((row) => row.scheduledAt),
          [t0 - 1000, t0 - 2000, t0 - 4000],
        );
        assert.deepEqual(await store.history({ limit: 0 }), []);
        assert.equal((await store.history({ limit: 500 })).length, 120);
        assert.deepEqual(await store.history({ taskName: "nobody" }), []);
      });
    });

    it("keeps a task's history when the task is deleted", async () => {
      await withStore(makeStore, async ({ store }) => {
        await store.putTask(taskRecord("gone"), { replace: false });
        const row = runRecord("gone", await store.now());
        await store.recordRun(row);
        await store.deleteTask("gone");
        assert.deepEqual(await store.history({ taskName: "gone" }), [row]);
      });
    });

    it("prunes by age, aging unfinished runs by their scheduled time", async () => {
      await withStore(makeStore, async ({ store }) => {
        const now = await store.now();
        const old = runRecord("a", now - 10 * DAY);
        const oldUnfinished = runRecord("a", now - 9 * DAY, { startedAt: null, finishedAt: null });
        const scheduledLongAgoFinishedNow = runRecord("a", now - 20 * DAY, { finishedAt: now });
        const recent = runRecord("a", now - DAY);
        const recentUnfinished = runRecord("b", now - DAY, { finishedAt: null });
        for (const row of [
          old,
          oldUnfinished,
          scheduledLongAgoFinishedNow,
          recent,
          recentUnfinished,
        ]) {
          await store.recordRun(row);
        }
        assert.equal(await store.pruneHistory({ maxAgeMs: 7 * DAY, maxRows: 1000 }), 2);
        assert.deepEqual(await store.history(), [
          recentUnfinished,
          recent,
          scheduledLongAgoFinishedNow,
        ]);
        assert.equal(await store.pruneHistory({ maxAgeMs: 7 * DAY, maxRows: 1000 }), 0);
      });
    });

    it("prunes by row count, keeping the newest rows", async () => {
      await withStore(makeStore, async ({ store }) => {
        const now = await store.now();
        const rows = Array.from({ length: 10 }, (_, i) =>
          runRecord(`t${i % 2}`, now - (10 - i) * MINUTE),
        );
        for (const row of rows) await store.recordRun(row);
        assert.equal(await store.pruneHistory({ maxAgeMs: 365 * DAY, maxRows: 4 }), 6);
        assert.deepEqual(await store.history(), rows.slice(-4).reverse());
        assert.equal(await store.pruneHistory({ maxAgeMs: 365 * DAY, maxRows: 4 }), 0);
      });
    });

    it("prunes every row with maxRows: 0", async () => {
      await withStore(makeStore, async ({ store }) => {
        const now = await store.now();
        for (let i = 0; i < 4; i++) await store.recordRun(runRecord("z", now - i * MINUTE));
        assert.equal(await store.pruneHistory({ maxAgeMs: 365 * DAY, maxRows: 0 }), 4);
        assert.deepEqual(await store.history(), []);
        const after = runRecord("z", now);
        await store.recordRun(after);
        assert.deepEqual(await store.history(), [after], "recording works after emptying it");
      });
    });

    it("applies age and row limits together", async () => {
      await withStore(makeStore, async ({ store }) => {
        const now = await store.now();
        const rows = Array.from({ length: 6 }, (_, i) => runRecord("m", now - (6 - i) * DAY));
        for (const row of rows) await store.recordRun(row);
        // Age drops the 3 rows older than 3.5 days; rows then keeps the newest 2 of the other 3.
        assert.equal(await store.pruneHistory({ maxAgeMs: 3.5 * DAY, maxRows: 2 }), 4);
        assert.deepEqual(await store.history(), rows.slice(-2).reverse());
      });
    });

    it("keeps at most a task's newest N rows with keepLast, whatever their age; other tasks keep theirs", async () => {
      await withStore(makeStore, async ({ store }) => {
        const now = await store.now();
        const rows = Array.from({ length: 12 }, (_, i) =>
          runRecord(["chatty", "rare", "other"][i % 3] as string, now - (12 - i) * MINUTE),
        );
        for (const row of rows) await store.recordRun(row);
        const keepLast = new Map([
          ["chatty", 2],
          ["rare", 10],
          ["gone", 1],
        ]);
        const unbounded = { maxAgeMs: Number.MAX_SAFE_INTEGER, maxRows: Number.MAX_SAFE_INTEGER };
        assert.equal(await store.pruneHistory({ ...unbounded, keepLast }), 2);
        const chatty = rows.filter((row) => row.taskName === "chatty");
        assert.deepEqual(await store.history({ taskName: "chatty" }), chatty.slice(-2).reverse());
        assert.equal((await store.history({ taskName: "rare" })).length, 4);
        assert.equal((await store.history({ taskName: "other" })).length, 4);
        assert.equal(await store.pruneHistory({ ...unbounded, keepLast }), 0);
        // keepLast is a most, never a least: the age bound still applies to the rows it keeps.
        assert.equal(
          await store.pruneHistory({
            maxAgeMs: 1.5 * MINUTE,
            maxRows: Number.MAX_SAFE_INTEGER,
            keepLast,
          }),
          9,
        );
        assert.deepEqual(await store.history(), [rows[11]]);
      });
    });

    it("keeps everything for bounds of Number.MAX_SAFE_INTEGER or Infinity", async () => {
      await withStore(makeStore, async ({ store }) => {
        const now = await store.now();
        for (let i = 0; i < 3; i++) await store.recordRun(runRecord("z", now - i * 400 * DAY));
        for (const bound of [Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
          assert.equal(await store.pruneHistory({ maxAgeMs: bound, maxRows: bound }), 0);
          assert.equal(
            await store.pruneHistory({
              maxAgeMs: bound,
              maxRows: bound,
              keepLast: new Map([["z", bound]]),
            }),
            0,
          );
        }
        assert.equal((await store.history()).length, 3);
      });
    });
  });
}
