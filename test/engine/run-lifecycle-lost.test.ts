/**
 * An attempt found lost when its row was refused (or could not be written and
 * its claim was abandoned) while its retry had already started under the same
 * claim: that retry runs under a lost claim too, so it is aborted, and its
 * result waits for the previous row and is then recorded lost, not as an
 * outcome. Before, the retry's fenced write could still pass (the claim not
 * reaped yet) and history read `lost#1, failed#2, interrupted#3` (issue 15,
 * the PostgreSQL crash of the fault suite).
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
      isCurrent: () => true,
      task: () => undefined,
    },
    recorder,
    {
      queueRetry: (run) => void (retry = run),
      dropRetry: () => {},
      afterRun: () => {},
      maxRunsReached: () => {},
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
    /** The retry queued by attempt 1's finish, started. */
    retry(): Run {
      assert.ok(retry !== undefined, "a retry was queued");
      retry.state = "started";
      return retry;
    },
  };
}

describe("RunLifecycle.finish, a row refused while the retry already runs", () => {
  it("aborts the retry: it runs under the lost claim", async () => {
    const h = harness();
    const finishing = h.life.finish(h.run, {
      ok: false,
      error: new Error("boom"),
      timedOut: false,
    });
    h.retry();
    let aborted = false;
    h.leases.watch(h.claim, { abort: () => void (aborted = true) });
    h.refuse(false);
    await finishing;
    assert.equal(aborted, true, "the retry under the lost claim is aborted");
    assert.equal(h.leases.takeLost(h.claim), true, "and its finish finds the claim lost");
  });

  it("holds the retry's result until the previous row is written, then records it lost", async () => {
    const h = harness();
    const finishing = h.life.finish(h.run, {
      ok: false,
      error: new Error("boom"),
      timedOut: false,
    });
    // The retry ends before attempt 1's row is known refused.
    const retryFinishing = h.life.finish(h.retry(), { ok: true });
    await new Promise((resolve) => setImmediate(resolve));
    h.refuse(false);
    await Promise.all([finishing, retryFinishing]);
    assert.deepEqual(h.written, ["failed#1", "lost#1", "lost#2"]);
  });
});
