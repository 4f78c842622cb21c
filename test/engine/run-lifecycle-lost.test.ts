/**
 * A failed attempt under a claim, with retries left: its retry is queued only
 * once the attempt's row is written, and never when the row is refused (or
 * could not be written and its claim was abandoned: the reaper records the
 * attempt and retries it). Before, the retry was queued at once and could run
 * to completion while the row was still failing; if the node then died (or
 * lost the claim), the reaper recorded `interrupted` for the attempt whose row
 * was missing and ran the retry again: the work done twice (issue 15, chaos
 * `pg-terminate`). Earlier still, history read `lost#1, failed#2,
 * interrupted#3` (the PostgreSQL crash of the fault suite).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import { Task } from "../../src/core/task.js";
import { RunLifecycle } from "../../src/engine/run-lifecycle.js";
import type { RunRecorder } from "../../src/engine/run-recorder.js";
import { emptyReport, Run } from "../../src/engine/run.js";
import { LeaseGuard } from "../../src/leasing/lease-guard.js";
import { silentLogger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Claim } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

const T = Date.parse("2026-01-01T12:00:00Z");

/** Attempt 1 of a task with retries, started under a claim; its row waits until `refuse`. */
function harness() {
  const leases = new LeaseGuard();
  const claim: Claim = {
    id: "c1",
    taskName: "t",
    scheduledAt: T,
    nodeId: "n1",
    claimedAt: T,
    leaseExpiresAt: T + 3_000,
    fencingToken: 7,
  };
  let refuse: (written: boolean) => void = () => {};
  const written: string[] = [];
  const recorder = {
    // Attempt 1's row waits (the store is down); any later fenced row is accepted.
    finish: (row: { status: string; attempt: number }) => {
      written.push(`${row.status}#${row.attempt}`);
      if (written.length > 1) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => (refuse = resolve));
    },
    record: (row: { status: string; attempt: number }) => {
      written.push(`${row.status}#${row.attempt}`);
      return Promise.resolve();
    },
    persistProgress: async () => {},
  } as unknown as RunRecorder;
  let retry: Run | undefined;
  const life = new RunLifecycle(
    {
      clock: new ManualClock(T),
      leases,
      store: new MemoryStore(),
      logger: silentLogger,
      nodeId: "n1",
      emit: () => {},
      hasListeners: () => false,
      task: () => undefined,
    },
    recorder,
    {
      queueRetry: (run) => void (retry = run),
      dropRetry: () => {},
      afterRun: () => {},
      maxRunsReached: () => {},
      storeAnswered: () => {},
      heldBack: { size: 0 },
    },
  );
  const schedule = compileSchedule("* * * * * *", {
    nowMs: T,
    timezone: "UTC",
    cache: new CronCache(),
  });
  const task = new Task(
    "t",
    schedule,
    () => {},
    resolveTaskOptions({ retries: { attempts: 2, backoffMs: 0, factor: 1 } }),
  );
  const run = new Run(task, T, "schedule", "started", emptyReport());
  run.claim = claim;
  task.running++;
  return {
    life,
    leases,
    claim,
    run,
    written,
    refuse: (value: boolean) => refuse(value),
    /** The retry queued by attempt 1's finish, if any. */
    queued: (): Run | undefined => retry,
  };
}

describe("RunLifecycle.finish, a retry under a claim and its previous row", () => {
  it("queues the retry only once the previous attempt's row is written", async () => {
    const h = harness();
    const finishing = h.life.finish(h.run, {
      ok: false,
      error: new Error("boom"),
      timedOut: false,
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.queued(), undefined, "no retry while failed#1 is not written");
    h.refuse(true);
    await finishing;
    assert.equal(h.queued()?.attempt, 2, "the retry is queued once the row is written");
    assert.equal(h.queued()?.state, "retry-scheduled");
  });

  it("never queues the retry when the row is refused (the claim lost): the reaper retries", async () => {
    const h = harness();
    const finishing = h.life.finish(h.run, {
      ok: false,
      error: new Error("boom"),
      timedOut: false,
    });
    await new Promise((resolve) => setImmediate(resolve));
    h.refuse(false);
    await finishing;
    assert.equal(h.queued(), undefined, "no retry was ever queued");
    assert.deepEqual(h.written, ["failed#1", "lost#1"]);
    assert.equal(h.run.task.running, 0, "the run no longer counts running here");
  });
});
