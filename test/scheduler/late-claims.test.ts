/**
 * Issue 15, obs. 5: lateness was decided before the claim, so a run whose
 * claim came back seconds late (a slow store, a queue of claims, the health
 * gate) still counted as on time. The misfire policy is applied when the run
 * really starts, after its claim.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MisfirePolicy } from "../../src/core/misfire.js";
import { turns } from "../helpers/scheduler.js";
import { slowClaimNodes } from "../helpers/slow-claim-store.js";

/** Runs one every-minute task whose 00:01 claim comes back at `claimedAt`; returns what ran and what history says. */
async function lateClaim(misfire: MisfirePolicy, claimedAt: string) {
  const { a, b, store, clock } = await slowClaimNodes();
  const ran: string[] = [];
  await a.registerTask("t", "* * * * *", (ctx) => void ran.push(ctx.scheduledAt.toISOString()), {
    misfire,
    misfireGraceMs: 1_000,
  });
  clock.set("2026-01-01T00:01:00Z");
  const pending = a.runPending();
  await turns();
  clock.set(claimedAt); // the claim is answered this late
  store.release();
  await pending;
  const rows = (await a.history("t")).map((row) => `${row.status}: ${row.error?.message ?? ""}`);
  await a.stop();
  await b.stop();
  return { ran, rows };
}

describe("the misfire policy is applied after the claim (issue 15, obs. 5)", () => {
  it("a claim answered past the grace period, with the next occurrence due: run-once records it missed, with how late", async () => {
    const { ran, rows } = await lateClaim("run-once", "2026-01-01T00:02:05Z");
    assert.deepEqual(ran, []);
    assert.deepEqual(rows, [
      "missed: claimed 65000 ms after its time, past its grace of 1000 ms (misfire: run-once)",
    ]);
  });

  it("skip drops it even before the next occurrence; run-all runs it however late", async () => {
    const skipped = await lateClaim("skip", "2026-01-01T00:01:05Z");
    assert.deepEqual(skipped.ran, []);
    assert.match(skipped.rows[0] ?? "", /^missed: claimed 5000 ms after its time/);
    const all = await lateClaim("run-all", "2026-01-01T00:02:05Z");
    assert.deepEqual(all.ran, ["2026-01-01T00:01:00.000Z"]);
    assert.deepEqual(all.rows, ["succeeded: "]);
  });

  it("within the grace period it runs", async () => {
    const { ran } = await lateClaim("run-once", "2026-01-01T00:01:00.500Z");
    assert.deepEqual(ran, ["2026-01-01T00:01:00.000Z"]);
  });
});
