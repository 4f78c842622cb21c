/** The per-task summaries part of the store conformance suite (see contract.ts): `Store.taskSummaries`. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SUMMARY_DURATIONS } from "../../src/store/task-summary.js";
import { NODE_B, runRecord, withStore, type MakeStore } from "./contract-helpers.js";

const MINUTE = 60_000;

export function runSummariesContract(makeStore: MakeStore): void {
  describe("task summaries", () => {
    it("gives each task's last outcome, counts by status and recent durations", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.ok(store.taskSummaries !== undefined, "every built-in store keeps summaries");
        const t0 = (await store.now()) - 60 * MINUTE;
        for (let i = 0; i < SUMMARY_DURATIONS + 5; i++) {
          await store.recordRun(
            runRecord("a", t0 + i * MINUTE, { finishedAt: t0 + i * MINUTE + 2 + i }),
          );
        }
        await store.recordRun(
          runRecord("a", t0 + 40 * MINUTE, { status: "failed", error: { message: "boom" } }),
        );
        // A zombie's late result is informational: it is counted, never the last outcome.
        await store.recordRun(runRecord("a", t0 + 41 * MINUTE, { status: "lost" }));
        await store.recordRun(
          runRecord("b", t0, { status: "interrupted", startedAt: t0 + 1, finishedAt: null }),
        );
        const summaries = await store.taskSummaries(["a", "b", "never-ran"]);
        assert.deepEqual([...summaries.keys()].sort(), ["a", "b"]);
        const a = summaries.get("a");
        assert.equal(a?.lastStatus, "failed");
        assert.equal(a?.lastRunAt, t0 + 40 * MINUTE);
        assert.deepEqual(a?.counts, { succeeded: SUMMARY_DURATIONS + 5, failed: 1, lost: 1 });
        // Newest SUMMARY_DURATIONS with a start and an end, oldest first: 8 ms for the lost
        // and failed rows (runRecord's default), then succeeded rows 24, 23, … of 2 + i ms.
        const expected = [8, 8];
        for (let i = SUMMARY_DURATIONS + 4; expected.length < SUMMARY_DURATIONS; i--)
          expected.push(i);
        assert.deepEqual(a?.recentDurationsMs, expected.reverse());
        assert.deepEqual(summaries.get("b"), {
          taskName: "b",
          lastStatus: "interrupted",
          lastRunAt: t0,
          counts: { interrupted: 1 },
          recentDurationsMs: [],
        });
        assert.equal((await store.taskSummaries([])).size, 0);
      });
    });

    it("counts the rows written by finishRun and settleSlots", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.ok(store.taskSummaries !== undefined);
        const t0 = await store.now();
        const claim = await store.claimRun({
          taskName: "f",
          scheduledAt: t0,
          nodeId: NODE_B,
          leaseMs: 60_000,
        });
        assert.ok(claim !== null);
        const finished = runRecord("f", t0, { claimId: claim.id, nodeId: NODE_B });
        const skipped = runRecord("f", t0 + 1000, {
          startedAt: null,
          finishedAt: null,
          status: "skipped",
        });
        const missed = runRecord("g", t0 + 1000, {
          startedAt: null,
          finishedAt: null,
          status: "missed",
        });
        assert.equal(await store.finishRun(finished, claim), true);
        assert.deepEqual(await store.settleSlots([skipped, missed]), [true, true]);
        const summaries = await store.taskSummaries(["f", "g"]);
        assert.deepEqual(summaries.get("f")?.counts, { succeeded: 1, skipped: 1 });
        assert.equal(summaries.get("f")?.lastStatus, "skipped");
        assert.deepEqual(summaries.get("f")?.recentDurationsMs, [8]);
        assert.deepEqual(summaries.get("g")?.counts, { missed: 1 });
      });
    });
  });
}
