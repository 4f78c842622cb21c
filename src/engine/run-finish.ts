import type { DispatchOutcome } from "../core/dispatcher.js";
import { retryDelayMs, shouldRetry } from "../core/retry.js";
import type { RunStatus, Task } from "../core/task.js";
import type { RunEventBase } from "../events.js";
import type { LeaseGuard } from "../leasing/lease-guard.js";
import { safeLog } from "../logger.js";
import { PendingRetry, errorFields, type PlannedRun } from "./run-plan.js";
import { runOutput } from "./run-output.js";
import type { RunRecorder, RunRecorderHost } from "./run-recorder.js";
import type { RunRecord } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What phase 3 needs from the Scheduler. */
export interface RunFinishHost extends RunRecorderHost {
  readonly clock: Clock;
  /** Shared stores: aborts attempts whose lease was lost, and keeps their outcome unrecorded. */
  readonly leases?: LeaseGuard;
}

/** What phase 3 needs from the engine. */
export interface RunFinishContext {
  readonly host: RunFinishHost;
  readonly recorder: RunRecorder;
  /** Queues the retry of a failed attempt, due at `atMs`. */
  retryAt(retry: PendingRetry, atMs: number): void;
  /** After a run ended (synchronously): start the next queued run, or complete the task. */
  afterRun(task: Task): void;
}

/** The fields every run event carries (built only when someone listens). */
function eventBase(run: PlannedRun): RunEventBase {
  return {
    taskName: run.task.name,
    scheduledAt: new Date(run.scheduledAtMs),
    attempt: run.attempt,
    trigger: run.trigger,
    runId: run.runId,
  };
}

/**
 * Phase 3 of one attempt: update the task synchronously (retry or end the
 * run), then tell listeners and the logger, then persist the history row and
 * the task's progress. A run whose lease was lost is left to the node that
 * reaps it.
 */
export async function recordAttempt(
  context: RunFinishContext,
  run: PlannedRun,
  outcome: DispatchOutcome,
): Promise<void> {
  const { host, recorder } = context;
  const claim = run.claim;
  const { task, scheduledAtMs, attempt, report, startedAtMs, startMono, endMono } = run;
  if (claim !== null && host.leases?.takeLost(claim) === true) {
    // Another node reaps the claim, records the run interrupted and retries it.
    report.failed++;
    task.running--;
    context.afterRun(task);
    return;
  }
  // A synchronous callback ended when it returned, not when the batch it was in is recorded.
  const ended = !Number.isNaN(endMono);
  const durationMs = (ended ? endMono : host.clock.monotonicMs()) - startMono;
  const finishedAtMs = ended ? Math.round(startedAtMs + durationMs) : host.clock.nowMs();
  const status: RunStatus = outcome.ok ? "succeeded" : outcome.timedOut ? "timed-out" : "failed";
  const error = outcome.ok ? undefined : outcome.error;
  const willRetry =
    !outcome.ok && !task.removed && shouldRetry(task.options.retries, attempt, error);
  const retryAtMs = willRetry ? finishedAtMs + retryDelayMs(task.options.retries, attempt) : null;
  task.lastStatus = status;
  if (retryAtMs !== null) {
    // The run goes on (the task still counts as running) until its retries end.
    context.retryAt(new PendingRetry(task, scheduledAtMs, attempt + 1, claim), retryAtMs);
  } else {
    task.running--;
    task.runCount++;
    context.afterRun(task);
  }
  if (outcome.ok) {
    report.succeeded++;
    if (host.hasListeners("run:success"))
      host.emit("run:success", { ...eventBase(run), durationMs });
  } else {
    report.failed++;
    safeLog(
      host.logger,
      "error",
      {
        err: error,
        taskName: task.name,
        scheduledAt: new Date(scheduledAtMs).toISOString(),
        attempt,
        status,
        willRetry,
      },
      `Task ${JSON.stringify(task.name)} ${status === "timed-out" ? "timed out" : "failed"}`,
    );
    host.emit("run:error", {
      ...eventBase(run),
      error,
      status: status as "failed" | "timed-out",
      durationMs,
      willRetry,
      retryAt: retryAtMs === null ? null : new Date(retryAtMs),
    });
  }
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
  // The last row and the release go together (finishRun): a crash between them must not make the run look interrupted.
  if (claim !== null && !willRetry) await recorder.finish(row, claim);
  else await recorder.record(row);
  if (willRetry) return;
  await recorder.persistProgress(task);
}
