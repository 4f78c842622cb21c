import { safeLog } from "../logger.js";
import type { Run } from "./run.js";
import type { RunRecorderHost } from "./run-recorder.js";

/**
 * What is logged and emitted about a claimed run that does not start
 * (skipped, missed, a retry abandoned). Only `RunLifecycle`
 * (engine/run-lifecycle.ts) calls these, after it changed the run's state.
 */

type Teller = Pick<RunRecorderHost, "logger" | "emit" | "hasListeners">;

/** A run skipped after its claim came back `overlapping`. */
export function tellSkippedOverlapping(host: Teller, run: Run): void {
  if (host.hasListeners("run:skipped")) {
    host.emit("run:skipped", {
      taskName: run.task.name,
      scheduledAt: new Date(run.scheduledAtMs),
      reason: "overlap",
    });
  }
}

/** A run claimed too late to start (`reason`), dropped by the misfire policy. */
export function tellMissedAtStart(host: Teller, run: Run, reason: string): void {
  const { task } = run;
  safeLog(
    host.logger,
    "warn",
    { taskName: task.name, scheduledAt: new Date(run.scheduledAtMs).toISOString(), reason },
    "Missed run",
  );
  host.emit("run:missed", {
    taskName: task.name,
    missed: [new Date(run.scheduledAtMs)],
    count: 1,
    policy: task.options.misfire,
  });
}

/** A retry that cannot start (`reason`): its claim is left to expire. */
export function warnAbandonedRetry(host: Teller, run: Run, reason: string): void {
  const { task } = run;
  safeLog(
    host.logger,
    "warn",
    {
      taskName: task.name,
      scheduledAt: new Date(run.scheduledAtMs).toISOString(),
      attempt: run.attempt,
      reason,
    },
    `A retry of ${JSON.stringify(task.name)} could not start; its claim is left to expire, and the run to be recovered (interrupted, retried per policy)`,
  );
}
