import type { DispatchOutcome } from "../core/dispatcher.js";
import { retryDelayMs, shouldRetry } from "../core/retry.js";
import { RunContext } from "../core/run-context.js";
import type { QueuedRun, RunStatus, Task } from "../core/task.js";
import type { RunEventBase, RunTrigger } from "../events.js";
import type { LeaseGuard } from "../leasing/lease-guard.js";
import { LeaseLostError } from "../errors.js";
import { safeLog } from "../logger.js";
import type { Claim, RunRecord } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { emptyReport, Run, type RunReport, type RunState } from "./run.js";
import { noteOverlapSkip } from "./overlap-warning.js";
import { runOutput } from "./run-output.js";
import { errorFields, type RunRecorder, type RunRecorderHost } from "./run-recorder.js";

/** What a run's life needs from the Scheduler. */
export interface RunLifecycleHost extends RunRecorderHost {
  readonly clock: Clock;
  /** The registered task of that name, if any. */
  task(name: string): Task | undefined;
  /** Shared stores: aborts attempts whose lease was lost, and keeps their outcome unrecorded. */
  readonly leases?: LeaseGuard;
}

/** What a run's life hands back to the engine. */
export interface RunLifecycleHooks {
  /** Queues `run` (state `retry-scheduled`), due at `atMs`. */
  queueRetry(run: Run, atMs: number): void;
  /** Takes a queued retry out of the queue (its run was lost). */
  dropRetry(run: Run): void;
  /** After a run of `task` ended or did not start (synchronously): start its next queued run, or complete it. */
  afterRun(task: Task): void;
  /** The store says `task` started its `maxRuns` runs (on any node): it runs no more here. */
  maxRunsReached(task: Task): void;
}

/** The fields every run event carries (built only when someone listens). */
function eventBase(run: Run): RunEventBase {
  return {
    taskName: run.taskName,
    scheduledAt: new Date(run.scheduledAtMs),
    attempt: run.attempt,
    trigger: run.trigger,
    runId: run.runId,
  };
}

/**
 * The one owner of a run's life: every change of a run's {@link RunState}
 * and of its task's run counters (`running`, `started`, `runCount`,
 * `lastRunMs`, `lastStatus`, the queue of waiting runs) happens here, with
 * what each change records and tells. The engine decides *which* change
 * happens (phase 1's rules, the overlap policy, claims); this module makes it
 * happen the same way on every path (one by one, in a burst planned ahead,
 * retried, recovered). docs/architecture.md draws the states.
 *
 * Counting rules: a run counts as `started` (toward `maxRuns`) from admission
 * (queued runs too) unless the store refuses it; it counts as `running` from
 * admission until it is finished, lost or dropped (a failed attempt waiting
 * for its retry still runs).
 */
export class RunLifecycle {
  readonly #host: RunLifecycleHost;
  readonly #recorder: RunRecorder;
  readonly #hooks: RunLifecycleHooks;
  /** The fencing tokens of runs without a claim (a store only this scheduler uses). */
  #localToken = 0;
  /** Attempts started and not yet finished (for {@link cancel}). */
  readonly #inFlight = new Set<Run>();

  constructor(host: RunLifecycleHost, recorder: RunRecorder, hooks: RunLifecycleHooks) {
    this.#host = host;
    this.#recorder = recorder;
    this.#hooks = hooks;
  }

  // Phase 1: admission.

  /** A due occurrence starts now: `due`, counted started and running. */
  admit(task: Task, scheduledAtMs: number, trigger: RunTrigger, report: RunReport): Run {
    task.started++;
    task.running++;
    return new Run(task, scheduledAtMs, trigger, "due", report);
  }

  /** A due occurrence waits behind the task's running run (overlap `queue`, catch-ups): counted started. */
  enqueue(task: Task, scheduledAtMs: number, trigger: QueuedRun["trigger"]): void {
    task.started++;
    (task.queue ??= []).push({ scheduledAtMs, trigger });
  }

  /** The task's next queued run, admitted (`due`), or null when none may start now. */
  dequeue(task: Task): Run | null {
    const queue = task.queue;
    if (queue === null || queue.length === 0) return null;
    if (task.running > 0 && task.options.overlap !== "allow") return null;
    const next = queue.shift() as QueuedRun;
    task.running++;
    return new Run(task, next.scheduledAtMs, next.trigger, "due", emptyReport());
  }

  /** The task's queued runs will not happen (removed, paused): they no longer count as started. */
  dropQueue(task: Task): void {
    const queue = task.queue;
    task.queue = null;
    if (queue !== null) task.started -= queue.length;
  }

  /** A due occurrence that does not start (overlap): counted, emitted, recorded. */
  skip(task: Task, scheduledAtMs: number, report: RunReport, reason: "overlap" | "claimed"): void {
    this.#recorder.skip(task, scheduledAtMs, report, reason);
    if (reason === "overlap") noteOverlapSkip(task, this.#host.logger, false);
  }

  /** Occurrences the misfire policy dropped: logged, emitted, recorded as one row. */
  missed(
    task: Task,
    missed: { listed: readonly number[]; firstMs: number; lastMs: number; count: number },
  ): void {
    this.#recorder.missed(task, missed);
  }

  // Planning ahead (see AheadPlanner).

  /** A run allocated ahead of its instant: `planned`, nothing counted yet. */
  plan(task: Task, scheduledAtMs: number, claim: Claim | null, report: RunReport): Run {
    const run = new Run(task, scheduledAtMs, "schedule", "planned", report);
    if (claim !== null) {
      run.claim = claim;
      run.fencingToken = claim.fencingToken;
    }
    return run;
  }

  /**
   * At its instant `nowMs`, a planned run whose task is still ready for it
   * (not moved, idle, `maxRuns` not reached) becomes `due` (or `claimed`,
   * with a claim taken ahead): counted started and running, its task's next
   * run set to the one computed while planning. Returns false, changing
   * nothing, when the task is not ready.
   */
  admitPlanned(run: Run, nowMs: number, report: RunReport): boolean {
    const task = run.task;
    if (!task.readyFor(run.scheduledAtMs)) return false;
    task.running++;
    task.started++;
    // Made exact once the callback has been called; its callback sees this run as the last.
    task.lastRunMs = nowMs;
    task.nextRunMs = task.started < task.options.maxRuns ? run.nextMs : Number.NaN;
    run.report = report;
    run.state = run.claim === null ? "due" : "claimed";
    return true;
  }

  /** A planned run that will not start as planned: its claim taken ahead is returned (or null). */
  giveBack(run: Run): Claim | null {
    const { claim } = run;
    run.state = "given-back";
    run.claim = null;
    return claim;
  }

  // Phase 2: claims and starts.

  /** The store gave this node the run (`claim` null: the store needs no claims). */
  claimed(run: Run, claim: Claim | null): void {
    if (claim !== null) run.claim = claim;
    run.fencingToken = run.claim?.fencingToken ?? ++this.#localToken;
    run.state = "claimed";
  }

  /**
   * A run of a task another live node owns waits to be taken over: meanwhile
   * not counted running or started here (its owner runs it), so that phase 1
   * here does not see the task busy with it (overlap) at its next occurrence.
   * {@link takingOver} counts it again.
   */
  deferred(run: Run): void {
    run.task.running--;
    run.task.started--;
  }

  /** A deferred run is looked at again, to be taken over (claimed) or refused: counted again. */
  takingOver(run: Run): void {
    run.task.running++;
    run.task.started++;
  }

  /** The store gave the run to another node: not started, not counted; that node records it. */
  refused(run: Run): void {
    const { task } = run;
    run.state = "refused";
    task.running--;
    task.started--;
    this.#recorder.skip(task, run.scheduledAtMs, run.report, "claimed");
    this.#hooks.afterRun(task);
  }

  /**
   * The store refused the claim: the task's `maxRuns` runs were started
   * already, on this node or others. Not started, not recorded (nothing
   * happened to this occurrence but the task's end); the task completes once idle.
   */
  maxRunsReached(run: Run): void {
    const { task } = run;
    run.state = "refused";
    task.running--;
    this.#hooks.maxRunsReached(task);
  }

  /**
   * The claim could not be made (the store failed): not started, not
   * counted; recorded missed once the store takes writes again (unless
   * another node claimed it meanwhile), so that the slot has its row. The
   * store's health reports how many due runs did not start.
   */
  claimFailed(run: Run): void {
    const { task } = run;
    run.state = "claim-failed";
    task.running--;
    task.started--;
    this.#hooks.afterRun(task);
    if (run.trigger !== "manual") this.#recorder.notClaimed(task, run.scheduledAtMs);
  }

  /** The callback is about to be called at `startMono` (monotonic ms; `wallOffset` turns it into epoch ms). */
  started(run: Run, startMono: number, wallOffset: number): void {
    run.state = "started";
    this.#inFlight.add(run);
    run.report.ran++;
    run.startMono = startMono;
    run.startedAtMs = Math.round(wallOffset + startMono);
    const { task } = run;
    task.lastRunMs = run.startedAtMs;
    // Read first: a burst's tasks keep the field unwritten (see Task's constructor).
    if (task.skippedInARow !== 0) task.skippedInARow = 0;
  }

  /**
   * Cancels the attempts of `taskName` in flight here: each is marked
   * cancelled and its context aborted with `reason` (a callback that honours
   * `ctx.signal` ends; a command's process group is stopped). Its outcome is
   * then recorded `cancelled`, with no retry. Returns how many were cancelled.
   */
  cancel(taskName: string, reason: unknown): number {
    let cancelled = 0;
    for (const run of this.#inFlight) {
      if (run.taskName !== taskName || run.cancelReason !== undefined) continue;
      run.cancelReason = reason;
      (run.context ??= new RunContext(run)).abort(reason);
      cancelled++;
    }
    return cancelled;
  }

  // Retries and recovery.

  /**
   * A queued retry was taken from the queue: the run that goes on to phase 2
   * (`claimed`), or null when its task was removed meanwhile (`dropped`: its
   * claim released). A retry whose task object was replaced by another of
   * the same name (the stored task adopted at start, a task replaced) goes on
   * with that one: the occurrence still has its retry to come.
   */
  retryCollected(run: Run, report: RunReport): Run | null {
    let next = run;
    if (run.task.removed) {
      const current = this.#host.task(run.taskName);
      run.task.running--;
      if (current === undefined || current.removed) {
        run.state = "dropped";
        if (run.claim !== null) void this.#recorder.release(run.claim);
        return null;
      }
      run.state = "dropped";
      current.running++;
      next = new Run(current, run.scheduledAtMs, "retry", "retry-scheduled", report);
      next.attempt = run.attempt;
      next.claim = run.claim;
      next.fencingToken = run.fencingToken;
      next.previousWrite = run.previousWrite;
    }
    next.report = report;
    next.state = "claimed";
    return next;
  }

  /**
   * A run whose process died while it was in flight (recorded `interrupted`)
   * is retried as `attempt` under `claim`: `retry-scheduled`, counted running.
   */
  recovered(task: Task, scheduledAtMs: number, attempt: number, claim: Claim): Run {
    task.running++;
    const run = new Run(task, scheduledAtMs, "retry", "retry-scheduled", emptyReport());
    run.attempt = attempt;
    run.claim = claim;
    run.fencingToken = claim.fencingToken;
    return run;
  }

  // Phase 2, after the claim: runs that do not start.

  /**
   * The claim came back `overlapping` (another node's run of the task holds
   * it, overlap `skip`): not started, not counted; recorded skipped under the
   * claim, which releases it.
   */
  async skippedOverlapping(run: Run): Promise<void> {
    const { task, claim } = run;
    run.state = "skipped";
    task.running--;
    task.started--;
    const report = run.report;
    report.skipped++;
    noteOverlapSkip(task, this.#host.logger, true);
    if (this.#host.hasListeners("run:skipped")) {
      this.#host.emit("run:skipped", {
        taskName: task.name,
        scheduledAt: new Date(run.scheduledAtMs),
        reason: "overlap",
      });
    }
    this.#hooks.afterRun(task);
    if (claim === null) return;
    await this.#recorder.finish(this.#recorder.skipRow(task, run.scheduledAtMs, "overlap"), claim, {
      release: true,
    });
  }

  /**
   * The run was claimed too late to start (`reason`): the misfire policy
   * drops it. Not started, not counted; recorded missed under its claim.
   */
  async missedAtStart(run: Run, reason: string): Promise<void> {
    const { task, claim } = run;
    if (run.attempt > 1 && claim !== null && this.#host.abandon !== undefined) {
      this.#abandonRetry(run, claim, reason);
      return;
    }
    run.state = "missed";
    task.running--;
    task.started--;
    safeLog(
      this.#host.logger,
      "warn",
      { taskName: task.name, scheduledAt: new Date(run.scheduledAtMs).toISOString(), reason },
      "Missed run",
    );
    this.#host.emit("run:missed", {
      taskName: task.name,
      missed: [new Date(run.scheduledAtMs)],
      count: 1,
      policy: task.options.misfire,
    });
    this.#hooks.afterRun(task);
    const row = this.#recorder.missedRow(task, run.scheduledAtMs, run.scheduledAtMs, 1, reason);
    if (claim === null) await this.#recorder.record(row);
    else await this.#recorder.finish(row, claim, { release: true });
  }

  /**
   * A retry that cannot start (`reason`) is no missed occurrence: its earlier
   * attempts are recorded. Its claim is left to expire, and the node that
   * reaps it records the attempt interrupted and retries it per policy, as if
   * this process had died. It no longer runs here; it still counts started.
   */
  #abandonRetry(run: Run, claim: Claim, reason: string): void {
    const { task } = run;
    run.state = "dropped";
    task.running--;
    safeLog(
      this.#host.logger,
      "warn",
      {
        taskName: task.name,
        scheduledAt: new Date(run.scheduledAtMs).toISOString(),
        attempt: run.attempt,
        reason,
      },
      `A retry of ${JSON.stringify(task.name)} could not start; its claim is left to expire, and the run to be recovered (interrupted, retried per policy)`,
    );
    this.#hooks.afterRun(task);
    this.#host.abandon?.(claim);
  }

  // Phase 3: outcomes.

  /**
   * Phase 3 of one attempt: the task is updated at once (retry, or end the
   * run), listeners and the logger are told, then the row is written, fenced
   * by the run's claim when it has one. A claim that is no longer this node's
   * (its lease lost, known here already, or found when the fenced write is
   * refused: another node reaped it) makes the attempt `lost`: its result
   * does not count, what was counted is taken back, and the node that reaped
   * the claim records the run. Never rejects because of the store (failures
   * are events).
   */
  async finish(run: Run, outcome: DispatchOutcome): Promise<void> {
    this.#inFlight.delete(run);
    // A retry counts only once the previous attempt's row is written: if that attempt is found
    // lost meanwhile, its claim (this retry's too) is lost, and this result with it.
    if (run.previousWrite !== undefined) await run.previousWrite;
    const { claim } = run;
    const attempt = this.#attemptOf(run, outcome);
    // A lease lost locally (its deadline passed, or the store refused a renewal).
    if (claim !== null && this.#host.leases?.takeLost(claim) === true) {
      this.#endLost(run);
      await this.#lose(run, attempt);
      return;
    }
    const retry = this.#settle(run, attempt);
    let written: () => void = () => {};
    if (retry !== null) retry.previousWrite = new Promise<void>((resolve) => (written = resolve));
    try {
      if (claim === null) {
        await this.#recorder.record(attempt.row);
      } else if (!(await this.#recorder.finish(attempt.row, claim, { release: retry === null }))) {
        this.#unsettle(run, attempt, retry);
        await this.#lose(run, attempt);
        return;
      }
    } finally {
      written();
    }
    if (retry === null) await this.#recorder.persistProgress(run.task);
  }

  /** What one attempt ended with: its status, its history row, and its retry, if any. */
  #attemptOf(run: Run, outcome: DispatchOutcome): Attempt {
    const host = this.#host;
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
      !task.removed &&
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
   * The attempt counts: the task moves on (retry, or the run ends), listeners
   * and the logger are told. Returns the next attempt, queued, or null.
   */
  #settle(run: Run, attempt: Attempt): Run | null {
    const host = this.#host;
    const { task, report } = run;
    const { outcome, status, durationMs, retryAtMs } = attempt;
    const base = outcome.ok && !host.hasListeners("run:success") ? undefined : eventBase(run);
    task.lastStatus = status;
    let retry: Run | null = null;
    if (retryAtMs !== null) {
      retry = this.#scheduleRetry(run, retryAtMs);
    } else {
      run.state = "finished";
      task.running--;
      task.runCount++;
      this.#hooks.afterRun(task);
    }
    if (outcome.ok) {
      report.succeeded++;
      if (base !== undefined) host.emit("run:success", { ...base, durationMs });
      return retry;
    }
    report.failed++;
    const error = outcome.error;
    safeLog(
      host.logger,
      "error",
      {
        err: error,
        taskName: task.name,
        scheduledAt: new Date(run.scheduledAtMs).toISOString(),
        attempt: run.attempt,
        status,
        willRetry: retryAtMs !== null,
      },
      `Task ${JSON.stringify(task.name)} ${status === "timed-out" ? "timed out" : status === "cancelled" ? "was cancelled" : "failed"}`,
    );
    host.emit("run:error", {
      ...(base as RunEventBase),
      error,
      status: status as "failed" | "timed-out" | "cancelled",
      durationMs,
      willRetry: retryAtMs !== null,
      retryAt: retryAtMs === null ? null : new Date(retryAtMs),
    });
    return retry;
  }

  /**
   * Takes back what {@link #settle} counted for an attempt found lost when
   * its row was refused: the retry it queued is dropped (the run is the
   * reaper's now), or the run it counted finished is not.
   */
  #unsettle(run: Run, attempt: Attempt, retry: Run | null): void {
    const { task, report } = run;
    if (retry !== null) {
      // Still waiting: dropped. Already started (no backoff): it runs under the same lost
      // claim, which the store may not have reaped yet (a write that failed): it is
      // aborted, and its own finish finds the claim lost rather than writing through it.
      if (retry.state === "retry-scheduled") {
        this.#hooks.dropRetry(retry);
        retry.state = "dropped";
        task.running--;
      } else if (run.claim !== null) {
        this.#host.leases?.lost(
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

  /** An attempt lost before it counted: it no longer runs. */
  #endLost(run: Run): void {
    const { task, report } = run;
    run.state = "lost";
    report.failed++;
    task.running--;
    this.#hooks.afterRun(task);
  }

  /**
   * The attempt's claim was no longer this node's: its result does not count.
   * The run ends here `lost` (recorded as such, for the record); the node
   * that reaped the claim records it `interrupted` and retries it per policy.
   */
  async #lose(run: Run, attempt: Attempt): Promise<void> {
    const host = this.#host;
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
    await this.#recorder.record({
      ...row,
      status: "lost",
      error: {
        message: `the claim of this run was no longer this node's when its result (${outcome}) was to be recorded: its lease was lost`,
        code: "ERR_LEASE_LOST",
        ...(row.error === null ? {} : { stack: `${row.error.message}\n${row.error.stack ?? ""}` }),
      },
    });
  }

  /**
   * The attempt failed and another follows at `atMs`: this attempt ends
   * `retried`, and the next, holding the same claim, waits in the queue
   * (`retry-scheduled`); the task still counts the run running.
   */
  #scheduleRetry(run: Run, atMs: number): Run {
    run.state = "retried";
    const next = new Run(run.task, run.scheduledAtMs, "retry", "retry-scheduled", run.report);
    next.attempt = run.attempt + 1;
    next.claim = run.claim;
    next.fencingToken = run.fencingToken;
    this.#hooks.queueRetry(next, atMs);
    return next;
  }
}

/** One attempt's result, before it counts (see RunLifecycle.finish). */
interface Attempt {
  readonly outcome: DispatchOutcome;
  readonly status: RunStatus;
  readonly durationMs: number;
  readonly row: RunRecord;
  /** When the next attempt is due; null when none follows. */
  readonly retryAtMs: number | null;
}

/** True when `state` is one a run ends in. */
export function isFinal(state: RunState): boolean {
  return (
    state === "finished" ||
    state === "retried" ||
    state === "lost" ||
    state === "skipped" ||
    state === "missed" ||
    state === "refused" ||
    state === "claim-failed" ||
    state === "given-back" ||
    state === "dropped"
  );
}
