/**
 * The store contract, part 8: `finishRuns`, the batched finish (optional:
 * stores without it are skipped). Each finish of a batch behaves exactly as
 * `finishRun` (fenced by its claim, released unless a retry follows), and a
 * task's progress is written with a row that was written, never with one
 * that was refused.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlainClaimRequest, Store, TaskProgress } from "../../src/store/store.js";
import {
  NODE_A,
  NODE_B,
  passStoreTime,
  runRecord,
  taskRecord,
  withStore,
  type MakeStore,
} from "./contract-helpers.js";

function ask(taskName: string, scheduledAt: number, overrides: Partial<PlainClaimRequest> = {}) {
  return { taskName, scheduledAt, nodeId: NODE_B, leaseMs: 60_000, ...overrides };
}

function progress(runCount: number, lastRunAt: number): TaskProgress {
  return {
    state: "active",
    nextRunAt: lastRunAt + 1000,
    lastRunAt,
    lastStatus: "succeeded",
    runCount,
  };
}

async function claimOf(store: Store, request: PlainClaimRequest) {
  const claim = await store.claimRun(request);
  assert.ok(claim !== null, `claimed ${request.taskName}@${request.scheduledAt}`);
  return claim;
}

export function runFinishRunsContract(makeStore: MakeStore): void {
  describe("finishRuns (the batched finish)", () => {
    it("a batch mixing held and reaped claims writes only the held ones, and says which", async () => {
      await withStore(makeStore, async (opened) => {
        const { store } = opened;
        if (store.finishRuns === undefined || !store.durable) return;
        const t0 = await store.now();
        await store.putTask(taskRecord("held"), { replace: false });
        await store.putTask(taskRecord("reaped", { runCount: 7 }), { replace: false });
        const lost = await claimOf(store, ask("reaped", t0, { leaseMs: 50 }));
        await passStoreTime(opened, t0 + 200);
        const reaped = await store.reapExpiredClaims({ nodeId: NODE_A, atStart: false });
        assert.deepEqual(
          reaped.map((c) => c.id),
          [lost.id],
        );
        const kept = await claimOf(store, ask("held", t0));
        const heldRow = runRecord("held", t0, { claimId: kept.id });
        const lostRow = runRecord("reaped", t0, { claimId: lost.id });
        const written = await store.finishRuns([
          { record: lostRow, claim: lost, release: true, progress: progress(8, t0) },
          { record: heldRow, claim: kept, release: true, progress: progress(1, t0) },
        ]);
        assert.deepEqual(written, [false, true]);
        assert.deepEqual(await store.history({ taskName: "held" }), [heldRow]);
        assert.deepEqual(await store.history({ taskName: "reaped" }), [], "fenced out");
        const held = await store.getTask("held");
        assert.equal(held?.runCount, 1, "progress written with the row");
        assert.equal(held?.lastRunAt, t0);
        assert.equal(held?.lastStatus, "succeeded");
        assert.equal(held?.nextRunAt, t0 + 1000);
        const other = await store.getTask("reaped");
        assert.equal(other?.runCount, 7, "no progress with a refused row");
        assert.equal(other?.lastRunAt, null);
        assert.equal(await store.renewLease(kept, 60_000), false, "released");
        assert.equal(await store.claimRun(ask("held", t0)), null, "its key is spent");
      });
    });

    it("keeps a claim for its retry when release is false; the retry's finish releases it", async () => {
      await withStore(makeStore, async ({ store }) => {
        if (store.finishRuns === undefined) return;
        const t0 = await store.now();
        const a = await claimOf(store, ask("a", t0));
        const b = await claimOf(store, ask("b", t0));
        const firstA = runRecord("a", t0, { claimId: a.id, status: "failed" });
        const onlyB = runRecord("b", t0, { claimId: b.id });
        assert.deepEqual(
          await store.finishRuns([
            { record: firstA, claim: a, release: false },
            { record: onlyB, claim: b, release: true },
          ]),
          [true, true],
        );
        assert.equal(await store.renewLease(a, 60_000), true, "kept for the retry");
        assert.equal(await store.renewLease(b, 60_000), false, "released");
        const secondA = runRecord("a", t0, { claimId: a.id, attempt: 2 });
        assert.deepEqual(await store.finishRuns([{ record: secondA, claim: a, release: true }]), [
          true,
        ]);
        assert.deepEqual(
          (await store.history({ taskName: "a" })).map((row) => row.attempt),
          [2, 1],
        );
        assert.equal(await store.renewLease(a, 60_000), false, "released by the retry");
        assert.deepEqual(
          await store.finishRuns([{ record: { ...secondA, attempt: 3 }, claim: a, release: true }]),
          [false],
          "a released claim writes nothing more",
        );
      });
    });

    it("writes a task's progress from its last written finish of the batch, once", async () => {
      await withStore(makeStore, async ({ store }) => {
        if (store.finishRuns === undefined) return;
        const t0 = await store.now();
        await store.putTask(taskRecord("p"), { replace: false });
        const one = await claimOf(store, ask("p", t0));
        const two = await claimOf(store, ask("p", t0 + 1000));
        const written = await store.finishRuns([
          {
            record: runRecord("p", t0, { claimId: one.id }),
            claim: one,
            release: true,
            progress: progress(1, t0),
          },
          {
            record: runRecord("p", t0 + 1000, { claimId: two.id, status: "failed" }),
            claim: two,
            release: true,
            progress: { ...progress(2, t0 + 1000), lastStatus: "failed" },
          },
        ]);
        assert.deepEqual(written, [true, true]);
        const task = await store.getTask("p");
        assert.equal(task?.runCount, 2);
        assert.equal(task?.lastRunAt, t0 + 1000);
        assert.equal(task?.lastStatus, "failed");
        assert.equal((await store.history({ taskName: "p" })).length, 2);
      });
    });

    it("an empty batch writes nothing", async () => {
      await withStore(makeStore, async ({ store }) => {
        if (store.finishRuns === undefined) return;
        assert.deepEqual(await store.finishRuns([]), []);
        assert.deepEqual(await store.history(), []);
      });
    });
  });
}
