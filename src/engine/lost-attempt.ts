import { LeaseLostError } from "../errors.js";
import type { LeaseGuard } from "../leasing/lease-guard.js";
import { safeLog } from "../logger.js";
import type { Run } from "./run.js";
import { eventBase, type Attempt } from "./run-attempt.js";
import type { RunRecorder, RunRecorderHost } from "./run-recorder.js";
import type { RunLifecycleHooks } from "./run-lifecycle-host.js";

/**
 * The lost path of phase 3: an attempt whose claim was no longer this node's
 * when its result was to be recorded (its lease lost here, or the fenced
 * write refused). These functions are part of `RunLifecycle`
 * (engine/run-lifecycle.ts), the one owner of a run's state and its task's
 * counters: only `RunLifecycle.finish` calls them.
 */

/** An attempt lost before it counted: it no longer runs. */
export function endLost(run: Run, hooks: RunLifecycleHooks): void {
  const { task, report } = run;
  run.state = "lost";
  report.failed++;
  task.running--;
  hooks.afterRun(task);
}

/**
 * Takes back what `RunLifecycle.finish` counted for an attempt found lost
 * when its row was refused: the retry it queued is dropped (the run is the
 * reaper's now), or the run it counted finished is not.
 */
export function unsettle(
  run: Run,
  attempt: Attempt,
  retry: Run | null,
  hooks: RunLifecycleHooks,
  leases: LeaseGuard | undefined,
): void {
  const { task, report } = run;
  if (retry !== null) {
    // Still waiting (a claimed run's retry is queued only once this row is written): dropped,
    // never started. Already started (not expected; kept as a guard): it runs under the same
    // lost claim, so it is aborted, and its own finish finds the claim lost.
    if (retry.state === "retry-scheduled") {
      hooks.dropRetry(retry);
      retry.state = "dropped";
      task.running--;
    } else if (run.claim !== null) {
      leases?.lost(
        run.claim,
        new LeaseLostError(
          `The claim of the run of ${JSON.stringify(task.name)} was lost before its retry ended`,
        ),
      );
    }
  } else {
    task.runCount--;
  }
  if (attempt.outcome.ok) {
    report.succeeded--;
    report.failed++;
  }
  run.state = "lost";
}

/**
 * The attempt's claim was no longer this node's: its result does not count.
 * The run ends here `lost` (recorded as such, for the record); the node
 * that reaped the claim records it `interrupted` and retries it per policy.
 */
export async function recordLost(
  host: RunRecorderHost,
  recorder: RunRecorder,
  run: Run,
  attempt: Attempt,
): Promise<void> {
  const { task } = run;
  const outcome = attempt.status as "succeeded" | "failed" | "timed-out" | "cancelled";
  safeLog(
    host.logger,
    "warn",
    {
      taskName: task.name,
      scheduledAt: new Date(run.scheduledAtMs).toISOString(),
      attempt: run.attempt,
      outcome,
    },
    `A run of ${JSON.stringify(task.name)} ended after this node lost its claim; its result (${outcome}) is recorded as lost`,
  );
  if (host.hasListeners("run:lost"))
    host.emit("run:lost", { ...eventBase(run), outcome, durationMs: attempt.durationMs });
  const { row } = attempt;
  await recorder.record(
    {
      ...row,
      status: "lost",
      error: {
        message: `the claim of this run was no longer this node's when its result (${outcome}) was to be recorded: its lease was lost`,
        code: "ERR_LEASE_LOST",
        ...(row.error === null ? {} : { stack: `${row.error.message}\n${row.error.stack ?? ""}` }),
      },
    },
    true,
  );
}
