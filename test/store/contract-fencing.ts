/**
 * The store contract, part 4: what makes "never double, never silently miss"
 * hold in the store. Finishing writes are fenced by the claim they were made
 * under; an exclusive claim that finds its task held still owns its slot
 * (`overlapping`) instead of vanishing; runs that did not start settle their
 * occurrence once across nodes; every claim carries a growing fencing token.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Claim, PlainClaimRequest, RunRecord } from "../../src/store/store.js";
import {
  NODE_A,
  NODE_B,
  passStoreTime,
  runRecord,
  withStore,
  type MakeStore,
  type OpenedStore,
} from "./contract-helpers.js";

/**
 * On a durable store (else undefined: claims of a memory store live and die
 * with their process), a claim of node B on `taskName` now whose 50 ms lease
 * has expired, not reaped yet.
 */
export async function expiredClaim(
  opened: OpenedStore,
  taskName: string,
  overrides: Partial<PlainClaimRequest> = {},
): Promise<{ t0: number; claim: Claim } | undefined> {
  const { store } = opened;
  if (!store.durable) return undefined;
  const t0 = await store.now();
  const claim = await store.claimRun(ask(taskName, t0, { leaseMs: 50, ...overrides }));
  assert.ok(claim !== null);
  await passStoreTime(opened, t0 + 200);
  return { t0, claim };
}

/** A claim request of node B (lease 60 s), with `overrides`. */
export function ask(
  taskName: string,
  scheduledAt: number,
  overrides: Partial<PlainClaimRequest> = {},
) {
  return { taskName, scheduledAt, nodeId: NODE_B, leaseMs: 60_000, ...overrides };
}

function notStarted(
  taskName: string,
  scheduledAt: number,
  overrides: Partial<RunRecord> = {},
): RunRecord {
  return runRecord(taskName, scheduledAt, {
    startedAt: null,
    finishedAt: null,
    status: "skipped",
    error: { message: "the previous run was still running" },
    ...overrides,
  });
}

export function runFencingContract(makeStore: MakeStore): void {
  describe("fencing and settled occurrences", () => {
    it("finishRun writes and releases only while the claim is held: a second finish writes nothing", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const claim = await store.claimRun(ask("f", t0));
        assert.ok(claim !== null);
        const row = runRecord("f", t0, { claimId: claim.id, output: { n: 1 } });
        assert.equal(await store.finishRun(row, claim), true);
        assert.equal(await store.finishRun({ ...row, attempt: 2 }, claim), false, "released");
        assert.deepEqual(await store.history({ taskName: "f" }), [row]);
        assert.equal(await store.renewLease(claim, 60_000), false);
        assert.equal(await store.claimRun(ask("f", t0)), null, "and its key is spent");
      });
    });

    it("finishRun with release: false keeps the claim for the retry, whose finish releases it", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const claim = await store.claimRun(ask("r", t0));
        assert.ok(claim !== null);
        const first = runRecord("r", t0, { claimId: claim.id, status: "failed" });
        assert.equal(await store.finishRun(first, claim, { release: false }), true);
        assert.equal(await store.renewLease(claim, 60_000), true, "still held");
        const second = runRecord("r", t0, { claimId: claim.id, attempt: 2 });
        assert.equal(await store.finishRun(second, claim), true);
        assert.deepEqual(
          (await store.history({ taskName: "r" })).map((row) => row.attempt),
          [2, 1],
        );
        assert.equal(await store.renewLease(claim, 60_000), false, "released");
      });
    });

    it("finishRun of a claim another node reaped writes nothing: the reaper's row is the only one", async () => {
      await withStore(makeStore, async (opened) => {
        const { store } = opened;
        const expired = await expiredClaim(opened, "z");
        if (expired === undefined) return;
        const { t0, claim } = expired;
        const reaped = await store.reapExpiredClaims({ nodeId: NODE_A, atStart: false });
        assert.deepEqual(
          reaped.map((c) => c.id),
          [claim.id],
        );
        const late = runRecord("z", t0, { claimId: claim.id });
        assert.equal(await store.finishRun(late, claim), false, "fenced out");
        assert.deepEqual(await store.history({ taskName: "z" }), []);
      });
    });

    it("gives every claim a fencing token greater than any given before, whatever its task", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const claims = [
          await store.claimRun(ask("a", t0)),
          await store.claimRun(ask("b", t0)),
          ...(await Promise.all(
            [ask("a", t0 + 1000), ask("c", t0), ask("a", t0 + 2000)].map((r) => store.claimRun(r)),
          )),
          await store.claimRun(ask("a", t0, { manual: true })),
        ];
        const tokens = claims.map((claim) => claim?.fencingToken ?? Number.NaN);
        assert.ok(
          tokens.every((token) => Number.isSafeInteger(token) && token > 0),
          String(tokens),
        );
        // Claims made one after another get greater tokens; a batch's are granted together.
        const [first = 0, second = 0, ...rest] = tokens;
        const batch = rest.slice(0, 3);
        const last = rest[3] ?? 0;
        assert.ok(first < second, String(tokens));
        assert.ok(
          batch.every((token) => token > second && token < last),
          String(tokens),
        );
        assert.equal(new Set(tokens).size, tokens.length, "all different");
      });
    });

    it("an exclusive claim of a held task owns its slot, overlapping: nobody else gets that slot", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const holder = await store.claimRun(ask("x", t0, { exclusive: true }));
        assert.ok(holder !== null && holder.overlapping !== true);
        const second = await store.claimRun(ask("x", t0 + 1000, { exclusive: true }));
        assert.ok(second !== null, "the slot is claimed: it must not vanish");
        assert.equal(second.overlapping, true, "but not the task, which is held");
        assert.equal(await store.claimRun(ask("x", t0 + 1000, { exclusive: true })), null);
        const other = await store.claimRun(ask("y", t0 + 1000, { exclusive: true }));
        assert.ok(other !== null && other.overlapping !== true, "another task is free");
        const skipped = notStarted("x", t0 + 1000, { claimId: second.id });
        assert.equal(await store.finishRun(skipped, second), true, "its holder records it");
        assert.equal(
          await store.finishRun(runRecord("x", t0, { claimId: holder.id }), holder),
          true,
        );
        const next = await store.claimRun(ask("x", t0 + 2000, { exclusive: true }));
        assert.ok(next !== null && next.overlapping !== true, "released: the task is free again");
      });
    });

    it("two exclusive requests of one task in one batch: the first holds the task, the second overlaps", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const batch = [ask("w", t0, { exclusive: true }), ask("w", t0 + 1000, { exclusive: true })];
        const [first, second] =
          store.claimRuns === undefined
            ? [
                await store.claimRun(batch[0] as PlainClaimRequest),
                await store.claimRun(batch[1] as PlainClaimRequest),
              ]
            : await store.claimRuns(batch);
        assert.ok(first !== null && first !== undefined && first.overlapping !== true);
        assert.ok(second !== null && second !== undefined && second.overlapping === true);
      });
    });

    it("settles a run that did not start once: a second settle, and any claim of it, is refused", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const row = notStarted("s", t0);
        assert.deepEqual(await store.settleSlots([row, notStarted("s", t0 + 1000)]), [true, true]);
        assert.deepEqual(await store.settleSlots([{ ...row, nodeId: NODE_B }]), [false]);
        assert.equal(await store.claimRun(ask("s", t0)), null, "a settled occurrence is never run");
        assert.equal((await store.history({ taskName: "s" })).length, 2);
      });
    });

    it("claims an earlier occurrence nobody recorded after a later one was released, if shared; never one a missed range covers", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        if (!store.shared) {
          t.skip("one process claims a task's occurrences in order: its mark stays strict");
          return;
        }
        const t0 = await store.now();
        const missed = notStarted("q", t0, {
          status: "missed",
          error: null,
          missedThrough: t0 + 2000,
          missedCount: 3,
        });
        assert.deepEqual(await store.settleSlots([missed]), [true]);
        const later = await store.claimRun(ask("q", t0 + 6000));
        assert.ok(later !== null);
        assert.equal(
          await store.finishRun(runRecord("q", t0 + 6000, { claimId: later.id }), later, {
            release: true,
          }),
          true,
        );
        // Queued on one node while another took t0 + 6000 over: its only chance to get a row.
        const queued = await store.claimRun(ask("q", t0 + 4000));
        assert.ok(queued !== null, "an occurrence under the mark that nobody claimed or recorded");
        if (store.takenRuns !== undefined)
          assert.deepEqual(await store.takenRuns([ask("q", t0 + 5000)]), [false]);
        assert.equal(await store.claimRun(ask("q", t0 + 1000)), null, "inside the missed range");
        if (store.takenRuns !== undefined)
          assert.deepEqual(await store.takenRuns([ask("q", t0 + 1000)]), [true]);
        assert.equal(await store.claimRun(ask("q", t0 + 6000)), null, "the released one");
      });
    });

    it("refuses a claim of an occurrence inside a missed range settled before it", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const missed = notStarted("r", t0, {
          status: "missed",
          error: null,
          missedThrough: t0 + 3000,
          missedCount: 4,
        });
        assert.deepEqual(await store.settleSlots([missed]), [true]);
        // Another node, late, claims one of them: a second row would tell the story twice.
        assert.equal(await store.claimRun(ask("r", t0 + 1000)), null, "inside the range");
        assert.equal(await store.claimRun(ask("r", t0)), null, "its first occurrence");
        if (store.takenRuns !== undefined)
          assert.deepEqual(await store.takenRuns([ask("r", t0 + 2000), ask("r", t0 + 4000)]), [
            true,
            false,
          ]);
        assert.ok((await store.claimRun(ask("r", t0 + 4000))) !== null, "after the range");
        assert.equal((await store.history({ taskName: "r" })).length, 1);
      });
    });

    it("never both settles a missed range and claims an occurrence inside it when the two run at once", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = (await store.now()) - 60_000;
        // On a shared store the two go out on different connections: without a lock that
        // orders them, each checks the other's rows before the other commits, and both win.
        const outcomes: { claimed: boolean; settled: boolean | undefined }[] = [];
        for (let round = 0; round < 60; round++) {
          const tasks = [0, 1, 2, 3].map((i) => `race-${round}-${i}`);
          const range = (taskName: string) =>
            notStarted(taskName, t0, {
              status: "missed",
              error: null,
              missedThrough: t0 + 4000,
              missedCount: 5,
            });
          const [claims, settled] = await Promise.all([
            Promise.all(tasks.map((taskName) => store.claimRun(ask(taskName, t0 + 2000)))),
            store.settleSlots(tasks.map(range)),
          ]);
          claims.forEach((claim, i) =>
            outcomes.push({ claimed: claim !== null, settled: settled[i] }),
          );
        }
        const both = outcomes.filter((o) => o.claimed && o.settled === true).length;
        assert.equal(both, 0, "occurrences told twice: claimed, and inside a settled range");
        assert.ok(
          outcomes.every((o) => o.claimed || o.settled === true),
          "one of the two wins",
        );
      });
    });

    it("does not settle an occurrence someone claimed, nor a missed range a claim falls in", async () => {
      await withStore(makeStore, async ({ store }) => {
        const t0 = await store.now();
        const claim = await store.claimRun(ask("m", t0 + 5000));
        assert.ok(claim !== null);
        const missed = notStarted("m", t0, {
          status: "missed",
          error: null,
          missedThrough: t0 + 9000,
          missedCount: 10,
        });
        assert.deepEqual(await store.settleSlots([notStarted("m", t0 + 5000), missed]), [
          false,
          false,
        ]);
        const before = notStarted("m", t0, {
          status: "missed",
          error: null,
          missedThrough: t0 + 4000,
          missedCount: 5,
        });
        assert.deepEqual(await store.settleSlots([before]), [true]);
        const [row] = await store.history({ taskName: "m" });
        assert.equal(row?.missedThrough, t0 + 4000);
        assert.equal(row?.missedCount, 5);
        assert.equal(row?.scheduledAt, t0);
        assert.equal(
          await store.claimRun(ask("m", t0 + 4000)),
          null,
          "its last occurrence is taken",
        );
      });
    });
  });
}
