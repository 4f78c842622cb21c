import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CancelledError, TaskNotFoundError } from "../../src/errors.js";
import type { RunErrorEvent } from "../../src/events.js";
import type { TaskContext } from "../../src/core/task.js";
import { manualScheduler } from "../helpers/scheduler.js";

/** A callback that waits for its signal, and tells when it has started. */
function waitingForSignal(): {
  callback: (ctx: TaskContext) => Promise<void>;
  started: Promise<void>;
  reasons: unknown[];
} {
  let markStarted = (): void => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const reasons: unknown[] = [];
  const callback = (ctx: TaskContext): Promise<void> =>
    new Promise<void>((_, reject) => {
      markStarted();
      ctx.signal.addEventListener("abort", () => {
        reasons.push(ctx.signal.reason);
        reject(new Error("stopped on abort"));
      });
    });
  return { callback, started, reasons };
}

describe("Scheduler.cancelTask", () => {
  for (const timeoutMs of [0, 60_000]) {
    it(`aborts ctx.signal with a CancelledError and records the run cancelled, without retry (timeoutMs ${timeoutMs})`, async () => {
      const { scheduler } = manualScheduler();
      const waiting = waitingForSignal();
      await scheduler.registerTask("long", "0 0 1 1 *", waiting.callback, {
        timeoutMs,
        retries: { attempts: 3, backoffMs: 0 },
      });
      const errors: RunErrorEvent[] = [];
      scheduler.on("run:error", (event) => errors.push(event));
      const run = scheduler.triggerTask("long");
      await waiting.started;
      assert.equal(scheduler.cancelTask("long", "alice"), 1);
      const report = await run;
      assert.equal(report.failed, 1);
      assert.equal(waiting.reasons.length, 1);
      assert.ok(waiting.reasons[0] instanceof CancelledError);
      assert.equal(waiting.reasons[0].code, "ERR_CANCELLED");
      assert.match((waiting.reasons[0] as Error).message, /cancelled by alice/);
      const [row, ...rest] = await scheduler.history("long");
      assert.equal(rest.length, 0, "no retry follows a cancelled attempt");
      assert.equal(row?.status, "cancelled");
      assert.equal(row?.error?.message, "stopped on abort");
      assert.equal(errors[0]?.status, "cancelled");
      assert.equal(errors[0]?.willRetry, false);
      assert.equal(scheduler.getTask("long")?.lastStatus, "cancelled");
      assert.equal(scheduler.cancelTask("long"), 0, "nothing runs any more");
    });
  }

  it("records a run that succeeds despite the cancel as succeeded", async () => {
    const { scheduler } = manualScheduler();
    let finish = (): void => {};
    let markStarted = (): void => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    await scheduler.registerTask(
      "stubborn",
      "0 0 1 1 *",
      () =>
        new Promise<void>((resolve) => {
          markStarted();
          finish = resolve;
        }),
    );
    const run = scheduler.triggerTask("stubborn");
    await started;
    assert.equal(scheduler.cancelTask("stubborn"), 1);
    finish();
    await run;
    assert.equal((await scheduler.history("stubborn"))[0]?.status, "succeeded");
  });

  it("refuses an unknown task", () => {
    const { scheduler } = manualScheduler();
    assert.throws(() => scheduler.cancelTask("nope"), TaskNotFoundError);
  });
});
