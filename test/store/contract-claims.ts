/** The claims part of the store conformance suite (see contract.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Claim, ClaimRequest, PlainClaimRequest, Store } from "../../src/store/store.js";
import {
  NODE_A,
  NODE_B,
  passStoreTime,
  settle,
  withStore,
  type MakeStore,
} from "./contract-helpers.js";

const T = Date.UTC(2030, 5, 2, 6);
const LEASE_MS = 30_000;

function request(taskName: string, scheduledAt: number, extra: Partial<PlainClaimRequest> = {}) {
  return { taskName, scheduledAt, nodeId: NODE_A, leaseMs: LEASE_MS, ...extra };
}

/** The optional batch claim of a store, when it has one. */
function batchClaimOf(
  store: Store,
): ((requests: readonly ClaimRequest[]) => Promise<(Claim | null)[]>) | undefined {
  const batch = (store as { claimRuns?: (r: readonly ClaimRequest[]) => Promise<(Claim | null)[]> })
    .claimRuns;
  return batch?.bind(store);
}

function sortedIds(claims: readonly Claim[]): string[] {
  return claims.map((claim) => claim.id).sort();
}

export function runClaimsContract(makeStore: MakeStore): void {
  describe("claims", () => {
    it("claims a due run once, with the requested fields and a lease when shared", async () => {
      await withStore(makeStore, async ({ store }) => {
        const claim = await store.claimRun(request("t", T, { nodeId: NODE_B }));
        assert.ok(claim !== null);
        assert.equal(typeof claim.id, "string");
        assert.notEqual(claim.id, "");
        assert.equal(claim.taskName, "t");
        assert.equal(claim.scheduledAt, T);
        assert.equal(claim.nodeId, NODE_B);
        assert.ok(Number.isFinite(claim.claimedAt));
        if (store.shared) {
          assert.ok(claim.leaseExpiresAt !== null, "a shared store leases its claims");
          assert.ok(claim.leaseExpiresAt >= claim.claimedAt + LEASE_MS - 1);
        } else {
          assert.equal(claim.leaseExpiresAt, null);
        }
      });
    });

    it("gives each (task, scheduled time) to one caller only, whatever the node", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.ok((await store.claimRun(request("t", T))) !== null);
        assert.equal(await store.claimRun(request("t", T)), null);
        assert.equal(await store.claimRun(request("t", T, { nodeId: NODE_B })), null);
        assert.ok((await store.claimRun(request("t", T + 1))) !== null, "another time");
        assert.ok((await store.claimRun(request("u", T))) !== null, "another task");
        assert.ok((await store.claimRun(request("t", T - 60_000))) !== null, "an earlier time");
      });
    });

    it("lets exactly one of many concurrent claims of one key win", async () => {
      await withStore(makeStore, async ({ store }) => {
        const attempts = Array.from({ length: 64 }, (_, i) =>
          store.claimRun(request("hot", T, { nodeId: `node-${i % 4}` })),
        );
        const { values, errors } = await settle(attempts);
        assert.deepEqual(errors, []);
        assert.equal(values.filter((claim) => claim !== null).length, 1);
      });
    });

    it("gives every one of many keys claimed concurrently by four nodes to exactly one", async () => {
      await withStore(makeStore, async ({ store }) => {
        const attempts: Promise<Claim | null>[] = [];
        for (let node = 0; node < 4; node++) {
          for (let k = 0; k < 50; k++) {
            const taskName = `task-${k % 5}`;
            const scheduledAt = T + Math.floor(k / 5) * 1000;
            attempts.push(store.claimRun(request(taskName, scheduledAt, { nodeId: `n${node}` })));
          }
        }
        const { values, errors } = await settle(attempts);
        assert.deepEqual(errors, []);
        const won = values.filter((claim): claim is Claim => claim !== null);
        const keys = won.map((claim) => `${claim.taskName}@${claim.scheduledAt}`);
        assert.equal(won.length, 50);
        assert.equal(new Set(keys).size, 50);
        assert.equal(new Set(won.map((claim) => claim.id)).size, 50);
      });
    });

    it("never gives a released key again; an earlier time only while nobody claimed or recorded it, if shared", async () => {
      await withStore(makeStore, async ({ store }) => {
        const claim = await store.claimRun(request("t", T));
        assert.ok(claim !== null);
        await store.releaseClaim(claim);
        await store.releaseClaim(claim); // idempotent
        assert.equal(await store.claimRun(request("t", T)), null);
        assert.equal(await store.claimRun(request("t", T, { nodeId: NODE_B })), null);
        // Processes sharing a store do not always claim a task's occurrences in order (a run
        // queued on one node while another takes a later one over); one process always does.
        const earlier = await store.claimRun(request("t", T - 1000));
        if (store.shared)
          assert.ok(earlier !== null, "nobody claimed or recorded the earlier time");
        else assert.equal(earlier, null, "at or before a finished one");
        assert.ok((await store.claimRun(request("t", T + 1000))) !== null, "a later time");
        assert.ok((await store.claimRun(request("other", T))) !== null, "another task");
      });
    });

    it("keeps a later key claimable while an earlier one is still running", async () => {
      await withStore(makeStore, async ({ store }) => {
        const first = await store.claimRun(request("q", T));
        const second = await store.claimRun(request("q", T + 1000));
        assert.ok(first !== null && second !== null);
        await store.releaseClaim(second);
        assert.equal(
          await store.renewLease(first, LEASE_MS),
          true,
          "the earlier one is still held",
        );
        await store.releaseClaim(first);
        assert.equal(await store.claimRun(request("q", T)), null);
      });
    });

    it("makes manual claims unique by id: two triggers at one instant both run", async () => {
      await withStore(makeStore, async ({ store }) => {
        const one = await store.claimRun(request("m", T, { manual: true }));
        const two = await store.claimRun(request("m", T, { manual: true, nodeId: NODE_B }));
        assert.ok(one !== null && two !== null);
        assert.notEqual(one.id, two.id);
        const scheduled = await store.claimRun(request("m", T));
        assert.ok(scheduled !== null, "a manual run does not take the scheduled key");
        await store.releaseClaim(one);
        await store.releaseClaim(scheduled);
        const three = await store.claimRun(request("m", T, { manual: true }));
        assert.ok(three !== null, "a finished scheduled run does not block triggers");
        assert.equal(await store.renewLease(two, LEASE_MS), true);
        assert.equal(await store.renewLease(one, LEASE_MS), false);
      });
    });

    it("renews a held lease and refuses a released one", async () => {
      await withStore(makeStore, async ({ store }) => {
        const claim = await store.claimRun(request("r", T));
        assert.ok(claim !== null);
        assert.equal(await store.renewLease(claim, LEASE_MS), true);
        assert.equal(await store.renewLease(claim, LEASE_MS), true);
        await store.releaseClaim(claim);
        assert.equal(await store.renewLease(claim, LEASE_MS), false);
      });
    });

    it("answers renewals sent together each for its own claim (batched where the store batches)", async () => {
      await withStore(makeStore, async ({ store }) => {
        const claims = [];
        for (let i = 0; i < 12; i++) {
          const claim = await store.claimRun(request(`b${i}`, T));
          assert.ok(claim !== null);
          claims.push(claim);
        }
        // Every third released: its renewal is refused, its neighbours' are not.
        for (const [i, claim] of claims.entries()) if (i % 3 === 0) await store.releaseClaim(claim);
        const renewed = await Promise.all(claims.map((claim) => store.renewLease(claim, LEASE_MS)));
        assert.deepEqual(
          renewed,
          claims.map((_, i) => i % 3 !== 0),
        );
      });
    });

    it("expires leases in shared stores: the reaper gets the claim once, the holder loses it", async (t) => {
      await withStore(makeStore, async (opened) => {
        const { store } = opened;
        if (!store.shared) {
          const claim = await store.claimRun(request("l", T, { leaseMs: 1 }));
          assert.ok(claim !== null);
          await passStoreTime(opened, (await store.now()) + 10);
          assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }), []);
          assert.equal(await store.renewLease(claim, 1), true, "no lease, nothing expires");
          t.diagnostic(`${store.kind} has no leases: claims never expire`);
          return;
        }
        const short = await store.claimRun(request("l", T, { leaseMs: 50 }));
        const long = await store.claimRun(request("l", T + 1000, { leaseMs: 3_600_000 }));
        assert.ok(short !== null && long !== null && short.leaseExpiresAt !== null);
        await passStoreTime(opened, short.leaseExpiresAt);
        const reaped = await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false });
        assert.deepEqual(sortedIds(reaped), [short.id]);
        assert.equal(reaped[0]?.taskName, "l");
        assert.equal(reaped[0]?.scheduledAt, T);
        assert.equal(reaped[0]?.nodeId, NODE_A);
        assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }), []);
        assert.equal(await store.renewLease(short, 50), false, "the holder lost it");
        await store.releaseClaim(short); // a late release is harmless
        assert.equal(await store.claimRun(request("l", T, { nodeId: NODE_B })), null);
        assert.equal(await store.renewLease(long, LEASE_MS), true, "the other claim is untouched");
      });
    });

    it("keeps a renewed lease from expiring", async (t) => {
      await withStore(makeStore, async (opened) => {
        const { store } = opened;
        if (!store.shared) {
          // Only a store shared by several nodes holds leases; for the others there is nothing to expire.
          t.skip(`${store.kind} has no leases`);
          return;
        }
        // Long enough to be renewed before it ends on a loaded machine (50 ms was not, at a load of 30).
        const claim = await store.claimRun(request("k", T, { leaseMs: 1_000 }));
        assert.ok(claim !== null && claim.leaseExpiresAt !== null);
        assert.equal(await store.renewLease(claim, 3_600_000), true);
        await passStoreTime(opened, claim.leaseExpiresAt);
        assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }), []);
        assert.equal(await store.renewLease(claim, LEASE_MS), true);
      });
    });

    it("at start, returns the unreleased claims a durable store kept for this node", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const mine = await store.claimRun(request("s", T));
        const theirs = await store.claimRun(request("s", T + 1000, { nodeId: NODE_B }));
        const manual = await store.claimRun(request("s", T, { manual: true }));
        const done = await store.claimRun(request("z", T));
        assert.ok(mine !== null && theirs !== null && manual !== null && done !== null);
        await store.releaseClaim(done);
        if (!store.durable) {
          // A claim of a non-durable store cannot outlive the process that holds it.
          t.diagnostic(`${store.kind} is not durable: no claims from a previous run`);
          return;
        }
        const reaped = await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true });
        assert.deepEqual(sortedIds(reaped), sortedIds([mine, manual]));
        assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }), []);
        // Taken over by this node (see contract-reaping.ts): another start would take them again.
        assert.deepEqual(
          sortedIds(await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true })),
          sortedIds(reaped.map((claim) => claim.takenOver)),
        );
        assert.equal(await store.renewLease(theirs, LEASE_MS), true, "another node's claim stays");
        assert.equal(await store.claimRun(request("s", T)), null, "a reaped key stays taken");
      });
    });

    it(
      "at start, takes over each of many claims of this node once (more than a store's batch)",
      { timeout: 60_000 },
      async (t) => {
        await withStore(makeStore, async ({ store }) => {
          if (!store.durable) {
            t.diagnostic(`${store.kind} is not durable: no claims from a previous run`);
            return;
          }
          // A node restarted with thousands of runs in flight: PostgreSQL reaps 500 at a time, and
          // its own claims, taken over for it again, were selected by every next batch, for ever.
          const many = Array.from({ length: 1_234 }, (_, i) =>
            request(`m${i % 400}`, T + 1000 * Math.floor(i / 400)),
          );
          const claims = batchClaimOf(store);
          if (claims !== undefined) await claims(many);
          else for (const r of many) await store.claimRun(r);
          const reaped = await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true });
          assert.equal(reaped.length, many.length);
          const keys = new Set(reaped.map((claim) => `${claim.taskName}@${claim.scheduledAt}`));
          assert.equal(keys.size, many.length, "each key once");
          assert.ok(reaped.every((claim) => claim.takenOver.nodeId === NODE_A));
        });
      },
    );

    it("claims many runs at once with claimRuns, in order, by the same rules", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const claimRuns = batchClaimOf(store);
        if (claimRuns === undefined) {
          // Batched claims are an optional Store method; a store without it claims one run at a time.
          t.skip(`${store.kind} has no claimRuns (optional)`);
          return;
        }
        assert.deepEqual(await claimRuns([]), []);
        const taken = await store.claimRun(request("b", T));
        const done = await store.claimRun(request("c", T + 5000));
        assert.ok(taken !== null && done !== null);
        await store.releaseClaim(done);
        const asked = [
          request("b", T), // held by another claim
          request("b", T + 1000),
          request("b", T + 1000, { nodeId: NODE_B }), // asked twice in one batch: the first wins
          request("c", T), // before a released one: free only if shared (nobody recorded it)
          request("c", T + 6000),
          request("b", T, { manual: true }),
          request("b", T, { manual: true }),
        ];
        const answers = await claimRuns(asked);
        assert.equal(answers.length, asked.length);
        assert.deepEqual(
          answers.map((claim) => claim !== null),
          [false, true, false, store.shared, true, true, true],
        );
        answers.forEach((claim, i) => {
          if (claim === null) return;
          assert.equal(claim.taskName, asked[i]?.taskName);
          assert.equal(claim.scheduledAt, asked[i]?.scheduledAt);
          assert.equal(claim.nodeId, asked[i]?.nodeId);
        });
        assert.equal(await store.claimRun(request("b", T + 1000)), null, "now taken");
      });
    });

    it("gives each key to one caller when claimRuns and claimRun race", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        const claimRuns = batchClaimOf(store);
        if (claimRuns === undefined) {
          // Batched claims are an optional Store method; a store without it claims one run at a time.
          t.skip(`${store.kind} has no claimRuns (optional)`);
          return;
        }
        const keys = Array.from({ length: 60 }, (_, k) => ({
          taskName: `task-${k % 6}`,
          scheduledAt: T + Math.floor(k / 6) * 1000,
        }));
        const batches = [0, 1, 2].map((node) =>
          claimRuns(
            keys.map((key) => request(key.taskName, key.scheduledAt, { nodeId: `n${node}` })),
          ),
        );
        const singles = keys.map((key) =>
          store.claimRun(request(key.taskName, key.scheduledAt, { nodeId: "single" })),
        );
        const results = await Promise.all([...batches, Promise.all(singles)]);
        const won = results.flat().filter((claim): claim is Claim => claim !== null);
        assert.equal(won.length, keys.length);
        assert.equal(
          new Set(won.map((claim) => `${claim.taskName}@${claim.scheduledAt}`)).size,
          keys.length,
        );
      });
    });
  });

  describe("giving back a claim taken ahead", () => {
    it("giveBack leaves the key unspent: the run can be claimed again, by another node; renewals fail", async (t) => {
      await withStore(makeStore, async ({ store }) => {
        if (store.giveBack === undefined) {
          // Optional: a store without it is never asked to claim ahead.
          t.skip(`${store.kind} has no giveBack (optional)`);
          return;
        }
        const claim = await store.claimRun(request("ahead", T, { nodeId: "n1", exclusive: true }));
        assert.ok(claim !== null);
        await store.giveBack(claim);
        assert.equal(await store.renewLease(claim, 60_000), false, "no longer held");
        const again = await store.claimRun(request("ahead", T, { nodeId: "n2", exclusive: true }));
        assert.ok(again !== null, "the same run, claimed again");
        assert.notEqual(again.overlapping, true, "the given-back claim no longer holds the task");
        assert.ok(again.fencingToken > claim.fencingToken, "with a newer fencing token");
        await store.giveBack(claim);
        assert.equal(
          await store.renewLease(again, 60_000),
          true,
          "giving back a stale claim touches nothing",
        );
      });
    });
  });
}
