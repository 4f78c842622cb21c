import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_RUNS_REACHED, claimOrNull, type ClaimRequest } from "../../src/store/store.js";
import { NODE_A, NODE_B, withStore, type MakeStore } from "./contract-helpers.js";

const T = Date.UTC(2030, 5, 2, 6);
const LEASE_MS = 30_000;

function counted(taskName: string, scheduledAt: number, extra: Partial<ClaimRequest> = {}) {
  return { taskName, scheduledAt, nodeId: NODE_A, leaseMs: LEASE_MS, maxRuns: 2, ...extra };
}

/** `maxRuns` counted by the store's claims, across every process sharing it. */
export function runMaxRunsContract(makeStore: MakeStore): void {
  describe("maxRuns counted by claims", () => {
    it("grants claims while the count is below maxRuns, then refuses them as MAX_RUNS_REACHED", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.ok(claimOrNull(await store.claimRun(counted("m", T))) !== null);
        assert.ok(claimOrNull(await store.claimRun(counted("m", T + 1000, { nodeId: NODE_B }))));
        assert.equal(await store.claimRun(counted("m", T + 2000)), MAX_RUNS_REACHED);
        assert.equal(
          await store.claimRun(counted("m", T + 3000, { nodeId: NODE_B })),
          MAX_RUNS_REACHED,
        );
        // Another task has its own count; a claim without maxRuns (a retry) is not counted nor refused.
        assert.ok(claimOrNull(await store.claimRun(counted("other", T))) !== null);
        const retry = await store.claimRun({
          taskName: "m",
          scheduledAt: T + 4000,
          nodeId: NODE_A,
          leaseMs: LEASE_MS,
          manual: true,
        });
        assert.ok(retry !== null);
      });
    });

    it("a claim lost to another claimant of the slot is not counted", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.ok(claimOrNull(await store.claimRun(counted("l", T))) !== null);
        assert.equal(await store.claimRun(counted("l", T, { nodeId: NODE_B })), null);
        assert.ok(claimOrNull(await store.claimRun(counted("l", T + 1000))) !== null);
        assert.equal(await store.claimRun(counted("l", T + 2000)), MAX_RUNS_REACHED);
      });
    });

    it("an overlapping exclusive claim is not counted (its run does not start)", async () => {
      await withStore(makeStore, async ({ store }) => {
        const holder = claimOrNull(await store.claimRun(counted("x", T, { exclusive: true })));
        assert.ok(holder !== null && holder.overlapping !== true);
        const second = claimOrNull(
          await store.claimRun(counted("x", T + 1000, { exclusive: true })),
        );
        assert.ok(second !== null && second.overlapping === true);
        await store.releaseClaim(holder);
        await store.releaseClaim(second);
        assert.ok(claimOrNull(await store.claimRun(counted("x", T + 2000, { exclusive: true }))));
        assert.equal(await store.claimRun(counted("x", T + 3000)), MAX_RUNS_REACHED);
      });
    });

    it("counts every request of a batch", async () => {
      await withStore(makeStore, async ({ store }) => {
        const batch = [counted("b", T), counted("b", T + 1000), counted("b", T + 2000)];
        const answers =
          store.claimRuns === undefined
            ? await Promise.all(batch.map((r) => store.claimRun(r)))
            : await store.claimRuns(batch);
        assert.equal(answers.filter((a) => claimOrNull(a) !== null).length, 2);
        assert.equal(answers.filter((a) => a === MAX_RUNS_REACHED).length, 1);
      });
    });
  });
}
