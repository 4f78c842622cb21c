import type { DispatchOutcome } from "../core/dispatcher.js";
import { retryDelayMs, shouldRetry } from "../core/retry.js";
import type { RunStatus, Task } from "../core/task.js";
import type { RunEventBase } from "../events.js";
import { safeLog } from "../logger.js";
import type { RunRecord } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import type { Run } from "./run.js";
import { runOutput } from "./run-output.js";
import { errorFields, type RunRecorderHost } from "./run-recorder.js";

/**
 * One attempt's result before it counts, and what is told about it: the
 * pure half of phase 3. Only `RunLifecycle.finish` (engine/run-lifecycle.ts)
 * calls these; the changes of state and counters stay there.
 */

/** One attempt's result, before it counts (see RunLifecycle.finish). */
export interface Attempt {
  readonly outcome: DispatchOutcome;
  readonly status: RunStatus;
  readonly durationMs: number;
  readonly row: RunRecord;
  /** When the next attempt is due; null when none follows. */
  readonly retryAtMs: number | null;
}

/** The fields every run event carries (built only when someone listens). */
export function eventBase(run: Run): RunEventBase {
  return {
    taskName: run.taskName,
    scheduledAt: new Date(run.scheduledAtMs),
    attempt: run.attempt,
    trigger: run.trigger,
    runId: run.runId,
  };
}

/** What one attempt ended with: its status, its history row, and its retry, if any. */
export function attemptOf(
  host: {
    readonly clock: Clock;
    readonly nodeId: string;
    task(name: string): Task | undefined;
  },
  run: Run,
  outcome: DispatchOutcome,
): Attempt {
  const { task, scheduledAtMs, attempt, startedAtMs, startMono, endMono, claim } = run;
  // A synchronous callback ended when it returned, not when the batch it was in is recorded.
  const ended = !Number.isNaN(endMono);
  const durationMs = (ended ? endMono : host.clock.monotonicMs()) - startMono;
  const finishedAtMs = ended ? Math.round(startedAtMs + durationMs) : host.clock.nowMs();
  // A cancelled attempt that still succeeded (it ignored its signal) counts as succeeded.
  const cancelled = !outcome.ok && run.cancelReason !== undefined;
  const status: RunStatus = outcome.ok
    ? "succeeded"
    : cancelled
      ? "cancelled"
      : outcome.timedOut
        ? "timed-out"
        : "failed";
  const error = outcome.ok ? undefined : outcome.error;
  const willRetry =
    !outcome.ok &&
    !cancelled &&
    !gone(host, task) &&
    shouldRetry(task.options.retries, attempt, error);
  const row: RunRecord = {
    taskName: task.name,
    claimId: claim?.id ?? null,
    scheduledAt: scheduledAtMs,
    startedAt: startedAtMs,
    finishedAt: finishedAtMs,
    status,
    attempt,
    nodeId: host.nodeId,
    error: outcome.ok ? null : errorFields(error),
  };
  const output = runOutput(outcome);
  if (output !== undefined) (row as { output?: unknown }).output = output;
  return {
    outcome,
    status,
    durationMs,
    row,
    retryAtMs: willRetry ? finishedAtMs + retryDelayMs(task.options.retries, attempt) : null,
  };
}

/**
 * True when `task` was removed and no task of its name took its place. A
 * task replaced while its attempt ran (registered again with `replace`,
 * adopted from the store, changed by another node) still owes the
 * occurrence its retry: `RunLifecycle.retryCollected` moves it onto the task
 * now registered.
 */
function gone(host: { task(name: string): Task | undefined }, task: Task): boolean {
  if (!task.removed) return false;
  const current = host.task(task.name);
  return current === undefined || current.removed;
}

/**
 * Tells listeners and the logger how an attempt that counts ended
 * (`base`: its event fields, built before it counted; undefined when no one
 * listens to a success).
 */
export function tellOutcome(
  host: Pick<RunRecorderHost, "logger" | "emit">,
  run: Run,
  attempt: Attempt,
  base: RunEventBase | undefined,
): void {
  const { outcome, status, durationMs, retryAtMs } = attempt;
  if (outcome.ok) {
    if (base !== undefined) host.emit("run:success", { ...base, durationMs });
    return;
  }
  const error = outcome.error;
  safeLog(
    host.logger,
    "error",
    {
      err: error,
      taskName: run.task.name,
      scheduledAt: new Date(run.scheduledAtMs).toISOString(),
      attempt: run.attempt,
      status,
      willRetry: retryAtMs !== null,
    },
    `Task ${JSON.stringify(run.task.name)} ${status === "timed-out" ? "timed out" : status === "cancelled" ? "was cancelled" : "failed"}`,
  );
  host.emit("run:error", {
    ...(base as RunEventBase),
    error,
    status: status as "failed" | "timed-out" | "cancelled",
    durationMs,
    willRetry: retryAtMs !== null,
    retryAt: retryAtMs === null ? null : new Date(retryAtMs),
  });
}
