/** LeaseKeeper against a scripted store (no server needed): renewals, lost leases, failures. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeaseLostError } from "../../src/errors.js";
import { LeaseKeeper } from "../../src/leasing/lease-keeper.js";
import type { Claim } from "../../src/store/store.js";
import { waitFor } from "../helpers/pg.js";

function claim(id: string): Claim {
  return {
    id,
    taskName: "t",
    scheduledAt: 0,
    nodeId: "n",
    claimedAt: 0,
    leaseExpiresAt: 100,
    fencingToken: 1,
  };
}

/** A store whose renewLease answers as `answer` says, recording every call. */
function scriptedStore(answer: (claim: Claim, call: number) => boolean | Error) {
  const calls: { id: string; leaseMs: number }[] = [];
  return {
    calls,
    renewLease(c: Claim, leaseMs: number): Promise<boolean> {
      calls.push({ id: c.id, leaseMs });
      const result = answer(c, calls.length);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  };
}

describe("LeaseKeeper", () => {
  it("renews every held claim, with the keeper's lease length, until released", async () => {
    const store = scriptedStore(() => true);
    const lost: Claim[] = [];
    const keeper = new LeaseKeeper({ store, leaseMs: 200, onLost: (c) => lost.push(c) });
    try {
      keeper.hold(claim("a"));
      keeper.hold(claim("b"));
      await waitFor("three renewals of each claim", () =>
        ["a", "b"].every((id) => store.calls.filter((c) => c.id === id).length >= 3),
      );
      assert.ok(store.calls.every((c) => c.leaseMs === 200));
      keeper.release(claim("a"));
      const before = store.calls.filter((c) => c.id === "a").length;
      const bCount = store.calls.filter((c) => c.id === "b").length;
      await waitFor(
        "two more renewals of b",
        () => store.calls.filter((c) => c.id === "b").length >= bCount + 2,
      );
      assert.equal(
        store.calls.filter((c) => c.id === "a").length,
        before,
        "a released claim is not renewed",
      );
      assert.deepEqual(lost, []);
      assert.equal(keeper.size, 1);
    } finally {
      keeper.stop();
    }
  });

  it("reports LeaseLostError when the store refuses a renewal, and stops renewing that claim", async () => {
    const store = scriptedStore((c) => c.id !== "gone");
    const lost: [Claim, LeaseLostError][] = [];
    const keeper = new LeaseKeeper({ store, leaseMs: 200, onLost: (c, e) => lost.push([c, e]) });
    try {
      keeper.hold(claim("gone"));
      keeper.hold(claim("kept"));
      await waitFor("the lost lease", () => lost.length === 1);
      assert.equal(lost[0]?.[0].id, "gone");
      assert.ok(lost[0]?.[1] instanceof LeaseLostError);
      assert.equal(keeper.holds(claim("gone")), false);
      assert.equal(keeper.holds(claim("kept")), true);
    } finally {
      keeper.stop();
    }
  });

  it("reports failed renewals, and gives the lease up once its last known expiry passed", async () => {
    const failure = new Error("connection terminated");
    const store = scriptedStore(() => failure);
    const errors: unknown[] = [];
    const lost: LeaseLostError[] = [];
    const keeper = new LeaseKeeper({
      store,
      leaseMs: 60,
      onLost: (_c, e) => lost.push(e),
      onError: (e) => errors.push(e),
    });
    try {
      keeper.hold(claim("x"));
      await waitFor("the lease to be given up", () => lost.length === 1);
      assert.ok(errors.length >= 1 && errors.every((e) => e === failure), "each failure reported");
      assert.equal(lost[0]?.cause, failure);
      assert.equal(keeper.size, 0);
    } finally {
      keeper.stop();
    }
  });

  it("gives a lease up at its own deadline while a renewal hangs, without waiting for the store's answer (issue 15, obs. 1)", async () => {
    const calls: Claim[] = [];
    // A stalled store: renewals are sent and never answered.
    const store = {
      renewLease: (c: Claim): Promise<boolean> => {
        calls.push(c);
        return new Promise<boolean>(() => {});
      },
    };
    const lost: LeaseLostError[] = [];
    const keeper = new LeaseKeeper({ store, leaseMs: 60, onLost: (_c, e) => lost.push(e) });
    try {
      keeper.hold(claim("z"));
      await waitFor("the lease to be given up", () => lost.length === 1);
      assert.ok(calls.length >= 1, "a renewal was sent");
      assert.ok(lost[0] instanceof LeaseLostError);
      assert.equal(keeper.holds(claim("z")), false);
      assert.equal(keeper.leftMs(claim("z")), 0);
    } finally {
      keeper.stop();
    }
  });

  it("survives a failed renewal when the next one works", async () => {
    const store = scriptedStore((_c, call) => (call === 1 ? new Error("blip") : true));
    const lost: Claim[] = [];
    const keeper = new LeaseKeeper({ store, leaseMs: 200, onLost: (c) => lost.push(c) });
    try {
      keeper.hold(claim("y"));
      await waitFor("a renewal after the failure", () => store.calls.length >= 3);
      assert.deepEqual(lost, []);
      assert.equal(keeper.holds(claim("y")), true);
    } finally {
      keeper.stop();
    }
  });
});
