/** The claim-process part of the store conformance suite (see contract.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Claim, ClaimProcess, Store } from "../../src/store/store.js";
import { NODE_A, NODE_B, withStore, type MakeStore } from "./contract-helpers.js";

const T = Date.UTC(2030, 5, 3, 6);
const LEASE_MS = 30_000;
const PROCESS: ClaimProcess = { pgid: 4242, startTime: "boot-1:123456" };

function refOf(claim: Claim): { taskName: string; nodeId: string; fencingToken: number } {
  return { taskName: claim.taskName, nodeId: claim.nodeId, fencingToken: claim.fencingToken };
}

/** The store's recordProcess, or undefined (with the test skipped) when it has none. */
function recordProcessOf(
  store: Store,
  t: { skip: (message: string) => void },
): NonNullable<Store["recordProcess"]> | undefined {
  if (store.recordProcess === undefined) {
    // Optional: a store whose claims die with their process has nothing to hand on.
    t.skip(`${store.kind} has no recordProcess (optional)`);
    return undefined;
  }
  return store.recordProcess.bind(store);
}

export function runProcessesContract(makeStore: MakeStore): void {
  describe("the process of a claim's attempt", () => {
    it("is recorded on a held claim and comes back with the claim when it is reaped", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const recordProcess = recordProcessOf(store, t);
        if (recordProcess === undefined) return;
        const withProcess = await store.claimRun({
          taskName: "p",
          scheduledAt: T,
          nodeId: NODE_A,
          leaseMs: LEASE_MS,
        });
        const without = await store.claimRun({
          taskName: "q",
          scheduledAt: T,
          nodeId: NODE_A,
          leaseMs: LEASE_MS,
          manual: true,
        });
        assert.ok(withProcess !== null && without !== null);
        assert.equal(withProcess.process, undefined, "a new claim has no process");
        assert.equal(await recordProcess(refOf(withProcess), { pgid: 1, startTime: "old" }), true);
        // A retry under the same claim replaces the process of the attempt before.
        assert.equal(await recordProcess(refOf(withProcess), PROCESS), true);
        const reaped = await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true });
        const byTask = new Map(reaped.map((claim) => [claim.taskName, claim]));
        assert.deepEqual(byTask.get("p")?.process, PROCESS);
        assert.equal(byTask.get("q")?.id, without.id);
        assert.equal(byTask.get("q")?.process, undefined);
      });
    });

    it("is refused (false) for a claim not held by that node under that token", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const recordProcess = recordProcessOf(store, t);
        if (recordProcess === undefined) return;
        const claim = await store.claimRun({
          taskName: "r",
          scheduledAt: T,
          nodeId: NODE_A,
          leaseMs: LEASE_MS,
        });
        assert.ok(claim !== null);
        const ref = refOf(claim);
        assert.equal(await recordProcess({ ...ref, nodeId: NODE_B }, PROCESS), false);
        assert.equal(
          await recordProcess({ ...ref, fencingToken: ref.fencingToken + 1 }, PROCESS),
          false,
        );
        assert.equal(await recordProcess({ ...ref, taskName: "other" }, PROCESS), false);
        await store.releaseClaim(claim);
        assert.equal(await recordProcess(ref, PROCESS), false, "a released claim");
        assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true }), []);
      });
    });
  });
}
