/**
 * Recording a reaped run: the interrupted attempt follows the attempts history
 * has for its occurrence. A `lost` row (the late result of the same attempt,
 * written by the node that lost the claim before the claim was reaped) is not
 * an attempt of its own.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recordInterrupted } from "../../src/engine/run-recovery.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { RunRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

const T = Date.parse("2026-01-01T12:00:00Z");

async function claimed() {
  const clock = new ManualClock(T);
  const store = new MemoryStore();
  await store.open({ nodeId: "n2", clock });
  const claim = await store.claimRun({
    taskName: "t",
    scheduledAt: T,
    nodeId: "n1",
    leaseMs: 3_000,
  });
  assert.ok(claim !== null);
  return { store, claim };
}

function row(status: RunRecord["status"], attempt: number, claimId: string | null): RunRecord {
  return {
    taskName: "t",
    claimId,
    scheduledAt: T,
    startedAt: T,
    finishedAt: T + 100,
    status,
    attempt,
    nodeId: "n1",
    error: null,
  };
}

describe("recordInterrupted", () => {
  it("records attempt 1 when the only row of the occurrence is attempt 1's lost result", async () => {
    const { store, claim } = await claimed();
    await store.recordRun(row("lost", 1, claim.id));
    assert.equal(await recordInterrupted(store, claim, T + 5_000, "reaped"), 1);
    const rows = await store.history({ taskName: "t" });
    assert.deepEqual(rows.map((r) => `${r.status}#${r.attempt}`).sort(), [
      "interrupted#1",
      "lost#1",
    ]);
  });

  it("follows the attempts that counted: a failed attempt 1, then attempt 2 interrupted", async () => {
    const { store, claim } = await claimed();
    await store.recordRun(row("failed", 1, claim.id));
    await store.recordRun(row("lost", 2, claim.id));
    assert.equal(await recordInterrupted(store, claim, T + 5_000, "reaped"), 2);
  });
});
