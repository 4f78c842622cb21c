/**
 * LeaseKeeper against a scripted store (no server needed): renewals, lost
 * leases, failures. Time is a ManualClock that only the test moves: the
 * keeper's timer still fires on real time, but what it does depends only on
 * the clock, so a loaded machine (a late timer) cannot change the story.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeaseLostError } from "../../src/errors.js";
import { LeaseKeeper } from "../../src/leasing/lease-keeper.js";
import type { Claim } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
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

/** Moves `clock` by `ms` and waits until the keeper's timer has acted on it (`done` true). */
async function advance(clock: ManualClock, ms: number, what: string, done: () => boolean) {
  clock.advance(ms);
  await waitFor(what, done, { timeoutMs: 60_000, intervalMs: 5 });
}

describe("LeaseKeeper", () => {
  it("renews every held claim, with the keeper's lease length, until released", async () => {
    const store = scriptedStore(() => true);
    const lost: Claim[] = [];
    const clock = new ManualClock();
    const keeper = new LeaseKeeper({ store, leaseMs: 200, clock, onLost: (c) => lost.push(c) });
    const renewals = (id: string) => store.calls.filter((c) => c.id === id).length;
    try {
      keeper.hold(claim("a"));
      keeper.hold(claim("b"));
      for (let n = 1; n <= 3; n++) {
        // Each renewal is due at half the lease after the last one was sent.
        await advance(clock, 100, `renewal ${n} of each claim`, () =>
          ["a", "b"].every((id) => renewals(id) >= n),
        );
      }
      assert.ok(store.calls.every((c) => c.leaseMs === 200));
      keeper.release(claim("a"));
      const before = renewals("a");
      const bCount = renewals("b");
      for (let n = 1; n <= 2; n++) {
        await advance(
          clock,
          100,
          `renewal ${n} of b after a's release`,
          () => renewals("b") >= bCount + n,
        );
      }
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
    const clock = new ManualClock();
    const keeper = new LeaseKeeper({
      store,
      leaseMs: 200,
      clock,
      onLost: (c, e) => lost.push([c, e]),
    });
    try {
      keeper.hold(claim("gone"));
      keeper.hold(claim("kept"));
      await advance(clock, 100, "the lost lease", () => lost.length === 1);
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
    const clock = new ManualClock();
    const keeper = new LeaseKeeper({
      store,
      leaseMs: 60,
      clock,
      onLost: (_c, e) => lost.push(e),
      onError: (e) => errors.push(e),
    });
    try {
      keeper.hold(claim("x"));
      await advance(clock, 30, "a failed renewal", () => errors.length === 1);
      assert.equal(lost.length, 0, "the lease is kept until its deadline");
      // Retried 10 ms later (a tenth of the lease, at least 10 ms), never past the deadline.
      await advance(clock, 10, "a second failed renewal", () => errors.length === 2);
      await advance(clock, 20, "the lease to be given up", () => lost.length === 1);
      assert.ok(
        errors.every((e) => e === failure),
        "each failure reported",
      );
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
    const clock = new ManualClock();
    const keeper = new LeaseKeeper({ store, leaseMs: 60, clock, onLost: (_c, e) => lost.push(e) });
    try {
      keeper.hold(claim("z"));
      await advance(clock, 30, "a renewal sent", () => calls.length === 1);
      assert.equal(lost.length, 0, "the lease is kept until its deadline");
      await advance(clock, 30, "the lease to be given up", () => lost.length === 1);
      assert.equal(calls.length, 1, "the hanging renewal is not sent again");
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
    const clock = new ManualClock();
    const keeper = new LeaseKeeper({ store, leaseMs: 200, clock, onLost: (c) => lost.push(c) });
    try {
      keeper.hold(claim("y"));
      await advance(clock, 100, "the failed renewal", () => store.calls.length === 1);
      // Retried a tenth of the lease later; the renewal that works extends the lease.
      await advance(clock, 20, "a renewal after the failure", () => store.calls.length === 2);
      await advance(clock, 100, "the next renewal", () => store.calls.length === 3);
      assert.deepEqual(lost, []);
      assert.equal(keeper.holds(claim("y")), true);
    } finally {
      keeper.stop();
    }
  });
});
