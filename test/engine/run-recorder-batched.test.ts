/**
 * RunRecorder on a store that batches finishes (Store.finishRuns): a run's
 * row, release and progress travel in one batch; a batch that fails is
 * retried run by run through the store-health gate, each row written once
 * (none lost, none doubled) and its progress after it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import { Task } from "../../src/core/task.js";
import { RunRecorder } from "../../src/engine/run-recorder.js";
import { StoreError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Claim, FinishRequest, RunRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { taskRecord } from "../store/contract-helpers.js";

const T = Date.parse("2026-01-01T12:00:00Z");

/** A memory store with finishRuns, whose next `failures` batches fail. */
class BatchingStore extends MemoryStore {
  failures = 0;
  batches: FinishRequest[][] = [];
  singles = 0;

  async finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    this.batches.push([...finishes]);
    if (this.failures > 0) {
      this.failures--;
      throw new StoreError("connection terminated");
    }
    const written: boolean[] = [];
    for (const { record, claim, release, progress } of finishes) {
      const ok = await super.finishRun(record, claim, { release });
      written.push(ok);
      if (ok && progress !== undefined) await this.updateTaskProgress(record.taskName, progress);
    }
    return written;
  }

  override finishRun(
    record: RunRecord,
    claim: Claim,
    options?: { readonly release?: boolean },
  ): Promise<boolean> {
    this.singles++;
    return super.finishRun(record, claim, options);
  }
}

async function setup() {
  const clock = new ManualClock(T);
  const store = new BatchingStore();
  await store.open({ nodeId: "n1", clock });
  const schedule = compileSchedule("* * * * * *", {
    nowMs: T,
    timezone: "UTC",
    cache: new CronCache(),
  });
  const task = new Task("t", schedule, () => {}, resolveTaskOptions({}));
  await store.putTask(taskRecord("t"), { replace: false });
  let gated = 0;
  let wrote = 0;
  const recorder = new RunRecorder({
    store,
    logger: silentLogger,
    nodeId: "n1",
    emit: () => {},
    hasListeners: () => false,
    writeGate: (call) => {
      gated++;
      return call();
    },
    finishWritten: () => void wrote++,
  });
  async function claimed(at: number) {
    const claim = await store.claimRun({
      taskName: "t",
      scheduledAt: at,
      nodeId: "n1",
      leaseMs: 30_000,
    });
    assert.ok(claim !== null);
    const row: RunRecord = {
      taskName: "t",
      claimId: claim.id,
      scheduledAt: at,
      startedAt: at,
      finishedAt: at + 5,
      status: "succeeded",
      attempt: 1,
      nodeId: "n1",
      error: null,
    };
    return { claim, row };
  }
  return { store, task, recorder, claimed, gated: () => gated, wrote: () => wrote };
}

describe("RunRecorder with a store that batches finishes", () => {
  it("writes the row, the release and the progress in one batch", async () => {
    const { store, task, recorder, claimed } = await setup();
    const one = await claimed(T);
    const two = await claimed(T + 1000);
    task.runCount = 2;
    task.lastRunMs = T + 1000;
    const written = await Promise.all([
      recorder.finish(one.row, one.claim, { release: true, progress: task }),
      recorder.finish(two.row, two.claim, { release: true, progress: task }),
    ]);
    assert.deepEqual(written, [true, true]);
    assert.equal(store.batches.length, 1);
    assert.equal(store.singles, 0);
    assert.equal((await store.getTask("t"))?.runCount, 2);
    assert.equal((await store.getTask("t"))?.lastRunAt, T + 1000);
  });

  it("tells the store's health when a batch went through, not when it failed", async () => {
    const { store, recorder, claimed, wrote } = await setup();
    const one = await claimed(T);
    assert.equal(await recorder.finish(one.row, one.claim, { release: true }), true);
    // The health gate hears of finishing writes that work, though none was sent through it:
    // an outage whose last failed kind was a finish ends (reaping waits for that).
    assert.equal(wrote(), 1);
    store.failures = 1;
    const two = await claimed(T + 1000);
    assert.equal(await recorder.finish(two.row, two.claim, { release: true }), true);
    assert.equal(wrote(), 1, "the failed batch, retried through the gate, says nothing itself");
  });

  it("retries a failed batch run by run through the gate: every row once, then its progress", async () => {
    const { store, task, recorder, claimed, gated } = await setup();
    store.failures = 1;
    const one = await claimed(T);
    const two = await claimed(T + 1000);
    task.runCount = 2;
    const written = await Promise.all([
      recorder.finish(one.row, one.claim, { release: true, progress: task }),
      recorder.finish(two.row, two.claim, { release: false }),
    ]);
    assert.deepEqual(written, [true, true]);
    assert.equal(gated(), 2, "each finish of the failed batch went through the gate");
    const rows = await store.history({ taskName: "t" });
    assert.deepEqual(
      rows.map((r) => r.scheduledAt).sort(),
      [T, T + 1000],
      "none lost, none doubled",
    );
    assert.equal((await store.getTask("t"))?.runCount, 2, "progress written after the retried row");
    assert.equal(await store.renewLease(two.claim), true, "release: false kept the claim");
    assert.equal(await store.renewLease(one.claim), false);
  });

  it("a finish refused (claim no longer held) writes no progress", async () => {
    const { store, task, recorder, claimed } = await setup();
    const one = await claimed(T);
    await store.releaseClaim(one.claim);
    task.runCount = 9;
    assert.equal(
      await recorder.finish(one.row, one.claim, { release: true, progress: task }),
      false,
    );
    assert.equal((await store.getTask("t"))?.runCount, 0);
    assert.deepEqual(await store.history({ taskName: "t" }), []);
  });
});
