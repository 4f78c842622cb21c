/** The membership part of the store conformance suite (see contract.ts): heartbeats, the live set, takenRuns. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Store } from "../../src/store/store.js";
import { NODE_A, NODE_B, passStoreTime, withStore, type MakeStore } from "./contract-helpers.js";

const T = Date.UTC(2030, 5, 3, 6);
const LEASE_MS = 30_000;
const SHORT_LEASE_MS = 1_500;

type Membership = Required<Pick<Store, "heartbeatNode" | "leaveNode" | "takenRuns">>;

/** The store's membership methods, or undefined (with the test skipped) when it has none. */
function membershipOf(
  store: Store,
  t: { skip: (message: string) => void },
): Membership | undefined {
  if (
    store.heartbeatNode === undefined ||
    store.leaveNode === undefined ||
    store.takenRuns === undefined
  ) {
    // Optional: a store only one scheduler uses has nobody to share the work with.
    t.skip(`${store.kind} keeps no membership (optional)`);
    return undefined;
  }
  return {
    heartbeatNode: store.heartbeatNode.bind(store),
    leaveNode: store.leaveNode.bind(store),
    takenRuns: store.takenRuns.bind(store),
  };
}

export function runMembershipContract(makeStore: MakeStore): void {
  describe("membership", () => {
    it("answers each heartbeat with the live nodes, sorted, and forgets a node that left", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const m = membershipOf(store, t);
        if (m === undefined) return;
        assert.deepEqual(
          await m.heartbeatNode({ nodeId: NODE_B, leaseMs: LEASE_MS, first: true }),
          [NODE_B],
        );
        assert.deepEqual(
          await m.heartbeatNode({ nodeId: NODE_A, leaseMs: LEASE_MS, first: true }),
          [NODE_A, NODE_B],
        );
        assert.deepEqual(await m.heartbeatNode({ nodeId: NODE_B, leaseMs: LEASE_MS }), [
          NODE_A,
          NODE_B,
        ]);
        await m.leaveNode(NODE_B);
        assert.deepEqual(await m.heartbeatNode({ nodeId: NODE_A, leaseMs: LEASE_MS }), [NODE_A]);
      });
    });

    it("counts a node dead once its last heartbeat is older than its lease", async (t) => {
      await withStore(makeStore, async (opened) => {
        const m = membershipOf(opened.store, t);
        if (m === undefined) return;
        // Long enough that a loaded machine cannot let it lapse before the next line (a real
        // database clock on PostgreSQL), short enough to wait out.
        await m.heartbeatNode({ nodeId: NODE_B, leaseMs: SHORT_LEASE_MS, first: true });
        assert.deepEqual(await m.heartbeatNode({ nodeId: NODE_A, leaseMs: LEASE_MS }), [
          NODE_A,
          NODE_B,
        ]);
        await passStoreTime(opened, (await opened.store.now()) + SHORT_LEASE_MS + 50);
        assert.deepEqual(await m.heartbeatNode({ nodeId: NODE_A, leaseMs: LEASE_MS }), [NODE_A]);
        // A beat brings it back.
        await m.heartbeatNode({ nodeId: NODE_B, leaseMs: SHORT_LEASE_MS });
        assert.deepEqual(await m.heartbeatNode({ nodeId: NODE_A, leaseMs: LEASE_MS }), [
          NODE_A,
          NODE_B,
        ]);
      });
    });

    it("tells which runs were claimed already (held, released, settled), claiming none", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const m = membershipOf(store, t);
        if (m === undefined) return;
        const held = await store.claimRun({
          taskName: "a",
          scheduledAt: T,
          nodeId: NODE_B,
          leaseMs: LEASE_MS,
        });
        const released = await store.claimRun({
          taskName: "b",
          scheduledAt: T,
          nodeId: NODE_B,
          leaseMs: LEASE_MS,
        });
        assert.ok(held !== null && released !== null);
        await store.releaseClaim(released);
        const manual = await store.claimRun({
          taskName: "d",
          scheduledAt: T,
          nodeId: NODE_B,
          leaseMs: LEASE_MS,
          manual: true,
        });
        assert.ok(manual !== null);
        const [settled] = await store.settleSlots([
          {
            taskName: "c",
            claimId: null,
            scheduledAt: T,
            startedAt: null,
            finishedAt: null,
            status: "missed",
            attempt: 1,
            nodeId: NODE_B,
            error: null,
          },
        ]);
        assert.equal(settled, true);
        const keys = [
          { taskName: "a", scheduledAt: T },
          { taskName: "a", scheduledAt: T + 1000 },
          { taskName: "b", scheduledAt: T },
          { taskName: "b", scheduledAt: T - 1000 },
          { taskName: "c", scheduledAt: T },
          { taskName: "d", scheduledAt: T },
          { taskName: "e", scheduledAt: T },
        ];
        // b at T − 1000 is under b's release mark, but nobody claimed or recorded it: free.
        assert.deepEqual(await m.takenRuns(keys), [true, false, true, false, true, false, false]);
        assert.deepEqual(await m.takenRuns([]), []);
        // Nothing was claimed by asking: the free keys can still be claimed.
        const free = await store.claimRun({
          taskName: "e",
          scheduledAt: T,
          nodeId: NODE_A,
          leaseMs: LEASE_MS,
        });
        assert.ok(free !== null);
      });
    });
  });
}
