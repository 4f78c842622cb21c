/**
 * The store contract, part 5: a slot never ends without a row. A reap takes
 * a dead node's claim over instead of releasing it, so that the run's
 * `interrupted` row and the release go together (`finishRun` under the claim
 * taken over): a reaper that dies or cannot write leaves the claim to expire,
 * and the run is reaped again. And an occurrence at or before the task's
 * claim mark that nobody claimed or recorded can still be settled late.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ask, expiredClaim } from "./contract-fencing.js";
import {
  NODE_A,
  NODE_B,
  passStoreTime,
  runRecord,
  withStore,
  type MakeStore,
} from "./contract-helpers.js";

export function runReapingContract(makeStore: MakeStore): void {
  describe("reaping takes claims over; late settles", () => {
    it("a reap takes the claim over: no row and no release until the reaper's finishRun; a reaper that never writes leaves it to the next reap", async () => {
      await withStore(makeStore, async (opened) => {
        const { store } = opened;
        const expired = await expiredClaim(opened, "z");
        if (expired === undefined) return;
        const { t0, claim } = expired;
        // Node A reaps, then dies (or its connection is cut) before it writes anything.
        const first = await store.reapExpiredClaims({
          nodeId: NODE_A,
          atStart: false,
          leaseMs: 1_000,
        });
        assert.deepEqual(
          await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }),
          [],
          "held by the reaper while its lease lasts",
        );
        assert.deepEqual(
          first.map((c) => [c.id, c.nodeId, c.claimedAt]),
          [[claim.id, NODE_B, claim.claimedAt]],
          "the claim as its dead holder had it",
        );
        const taken = first[0]?.takenOver;
        assert.ok(taken !== undefined);
        assert.equal(taken.nodeId, NODE_A);
        assert.equal(taken.taskName, "z");
        assert.equal(taken.scheduledAt, t0);
        assert.notEqual(taken.id, claim.id);
        assert.ok(taken.fencingToken > claim.fencingToken, "a new fencing token");
        assert.deepEqual(await store.history({ taskName: "z" }), [], "the reap writes no row");
        assert.equal(await store.claimRun(ask("z", t0)), null, "the key is held");
        assert.equal(
          await store.finishRun(runRecord("z", t0, { claimId: claim.id }), claim),
          false,
          "the dead holder is fenced out",
        );
        // A's lease on it runs out: the next reaper finds the run again, as the attempt's
        // node had it (B, claimed then), not as the reaper that died held it.
        await passStoreTime(opened, (await store.now()) + 1_200);
        const again = await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false });
        assert.deepEqual(
          again.map((c) => [c.taskName, c.scheduledAt, c.nodeId, c.claimedAt, c.id]),
          [["z", t0, NODE_B, claim.claimedAt, taken.id]],
        );
        const retaken = again[0]?.takenOver;
        assert.ok(retaken !== undefined);
        const interrupted = runRecord("z", t0, {
          claimId: claim.id,
          status: "interrupted",
          nodeId: NODE_B,
          error: { message: "reaped", code: "ERR_INTERRUPTED" },
        });
        assert.equal(await store.finishRun(interrupted, taken), false, "A's takeover is fenced");
        assert.equal(await store.finishRun(interrupted, retaken), true);
        assert.deepEqual(await store.history({ taskName: "z" }), [interrupted], "exactly one row");
        assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true }), []);
        assert.equal(await store.claimRun(ask("z", t0)), null, "and the key is spent");
      });
    });

    it("a claim taken over keeps its task (exclusive) for the retry, which its finish releases; a retry reaped is its node's attempt", async () => {
      await withStore(makeStore, async (opened) => {
        const { store } = opened;
        const expired = await expiredClaim(opened, "x", { exclusive: true });
        if (expired === undefined) return;
        const { t0, claim } = expired;
        assert.ok(claim.overlapping !== true);
        const [reaped] = await store.reapExpiredClaims({
          nodeId: NODE_A,
          atStart: false,
          leaseMs: 1_000,
        });
        assert.ok(reaped !== undefined);
        const next = await store.claimRun(ask("x", t0 + 1_000, { exclusive: true }));
        assert.equal(next?.overlapping, true, "the task is still held, by the claim taken over");
        const interrupted = runRecord("x", t0, { status: "interrupted", claimId: claim.id });
        assert.equal(
          await store.finishRun(interrupted, reaped.takenOver, { release: false }),
          true,
        );
        // A's retry runs under it and A dies too: the next reap finds A's attempt.
        await passStoreTime(opened, (await store.now()) + 1_200);
        const [again] = await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false });
        assert.equal(again?.nodeId, NODE_A, "the retry was A's attempt");
        const retried = runRecord("x", t0, { attempt: 2, claimId: again.takenOver.id });
        assert.equal(await store.finishRun(retried, again.takenOver), true);
        const later = await store.claimRun(ask("x", t0 + 2_000, { exclusive: true }));
        assert.ok(later !== null && later.overlapping !== true, "released: the task is free");
        assert.deepEqual(
          (await store.history({ taskName: "x" })).map((row) => `${row.status}#${row.attempt}`),
          ["succeeded#2", "interrupted#1"],
        );
      });
    });

    it("a reap at start takes this node's own claims over under new ids: the dead process's claims are fenced out", async () => {
      await withStore(makeStore, async ({ store }) => {
        if (!store.durable) return;
        const t0 = await store.now();
        const claim = await store.claimRun(ask("s", t0, { nodeId: NODE_A }));
        assert.ok(claim !== null);
        const [reaped] = await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true });
        assert.equal(reaped?.id, claim.id);
        assert.equal(reaped.takenOver.nodeId, NODE_A);
        assert.notEqual(reaped.takenOver.id, claim.id);
        assert.equal(await store.renewLease(claim, 60_000), false);
        assert.equal(await store.finishRun(runRecord("s", t0), claim), false);
        assert.equal(await store.renewLease(reaped.takenOver, 60_000), true);
      });
    });

    it("settles late an occurrence under the claim mark that nobody claimed or recorded; never one claimed", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const [t1, t2, t3] = [t0 + 1_000, t0 + 2_000, t0 + 3_000];
        // A's claim of t1 failed (the store was unusable); B claims, runs and releases t2.
        const held = await store.claimRun(ask("late", t0, { nodeId: NODE_A }));
        assert.ok(held !== null);
        const ran = await store.claimRun(ask("late", t2));
        assert.ok(ran !== null);
        const row = runRecord("late", t2, { claimId: ran.id, nodeId: NODE_B });
        assert.equal(await store.finishRun(row, ran), true);
        const missed = (at: number) =>
          runRecord("late", at, {
            status: "missed",
            startedAt: null,
            finishedAt: null,
            error: { message: "its claim could not be made: the store was unusable" },
          });
        assert.deepEqual(await store.settleSlots([missed(t1)]), [true], "nobody had t1");
        assert.deepEqual(await store.settleSlots([missed(t1)]), [false], "once");
        assert.deepEqual(await store.settleSlots([missed(t2)]), [false], "t2 ran");
        assert.deepEqual(await store.settleSlots([missed(t0)]), [false], "t0 is held");
        assert.deepEqual(
          await store.settleSlots([{ ...missed(t0), missedThrough: t3, missedCount: 4 }]),
          [false],
          "a range with a claimed occurrence",
        );
        assert.equal(await store.claimRun(ask("late", t1)), null, "and t1 stays unclaimable");
        assert.deepEqual(
          (await store.history({ taskName: "late" })).map(
            (r) => `${r.status}@${r.scheduledAt - t0}`,
          ),
          ["missed@1000", "succeeded@2000"],
        );
      });
    });

    it("never settles an occurrence inside a missed range settled before, whichever node asks", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const at = (s: number) => t0 + s * 1_000;
        const missed = (from: number, through?: number, nodeId = NODE_A) => ({
          ...runRecord("range", at(from), {
            status: "missed",
            startedAt: null,
            finishedAt: null,
            nodeId,
          }),
          ...(through === undefined
            ? {}
            : { missedThrough: at(through), missedCount: through - from + 1 }),
        });
        // Node A settles 1..3 as one row (its claim is on 3); node B then sees 1, 2 and 2..4.
        assert.deepEqual(await store.settleSlots([missed(1, 3)]), [true]);
        assert.deepEqual(
          await store.settleSlots([missed(1, undefined, NODE_B)]),
          [false],
          "the range's first occurrence",
        );
        assert.deepEqual(
          await store.settleSlots([missed(2, undefined, NODE_B)]),
          [false],
          "inside the range",
        );
        assert.deepEqual(
          await store.settleSlots([missed(2, 4, NODE_B)]),
          [false],
          "a range overlapping it",
        );
        assert.deepEqual(
          await store.settleSlots([missed(4, undefined, NODE_B)]),
          [true],
          "after it",
        );
        assert.deepEqual(
          (await store.history({ taskName: "range" })).map((r) => r.scheduledAt - t0).sort(),
          [1_000, 4_000],
        );
      });
    });
  });
}
