import type { DispatchOutcome } from "../core/dispatcher.js";
import type { QueuedRun, Task } from "../core/task.js";
import type { RunTrigger } from "../events.js";
import type { Claim } from "../store/store.js";
import { emptyReport, Run, type RunReport } from "./run.js";
import { finishOptions, settle } from "./counted-attempt.js";
import { InFlightAttempts } from "./in-flight-attempts.js";
import { endLost, recordLost, unsettle } from "./lost-attempt.js";
import {
  tellMissedAtStart,
  tellSkippedOverlapping,
  warnAbandonedRetry,
} from "./not-started-notices.js";
import { noteOverlapSkip } from "./overlap-warning.js";
import { attemptOf } from "./run-attempt.js";
import type { RunLifecycleHooks, RunLifecycleHost } from "./run-lifecycle-host.js";
import type { MissedOccurrences, RunRecorder, SkipReason } from "./run-recorder.js";

export type { RunLifecycleHooks, RunLifecycleHost } from "./run-lifecycle-host.js";

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
 *
 * Parts of it live in modules of their own, called by this class alone:
 * the attempt's result and what is told of it (`run-attempt.ts`), the
 * counted path (`counted-attempt.ts`) and the lost path (`lost-attempt.ts`)
 * of phase 3, the attempts in flight (`in-flight-attempts.ts`), what is told
 * of a claimed run that does not start (`not-started-notices.ts`).
 */
export class RunLifecycle {
  readonly #host: RunLifecycleHost;
  readonly #recorder: RunRecorder;
  readonly #hooks: RunLifecycleHooks;
  /** The fencing tokens of runs without a claim (a store only this scheduler uses). */
  #localToken = 0;
  /** Attempts started and not yet finished (for {@link cancel}). */
  readonly #inFlight = new InFlightAttempts();

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
    task.awaitingStore++;
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
    task.awaitingStore++;
    return new Run(task, next.scheduledAtMs, next.trigger, "due", emptyReport());
  }

  /** The task's queued runs will not happen (removed, paused): they no longer count as started. */
  dropQueue(task: Task): void {
    const queue = task.queue;
    task.queue = null;
    if (queue !== null) task.started -= queue.length;
  }

  /** A due occurrence that does not start (overlap): counted, emitted, recorded. */
  skip(task: Task, scheduledAtMs: number, report: RunReport, reason: SkipReason): void {
    this.#recorder.skip(task, scheduledAtMs, report, reason);
    if (reason === "overlap") noteOverlapSkip(task, this.#host.logger, false);
  }

  /** Occurrences the misfire policy dropped: logged, emitted, recorded as one row. */
  missed(task: Task, missed: MissedOccurrences): void {
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
    if (run.claim === null) {
      run.state = "due";
      task.awaitingStore++;
    } else {
      run.state = "claimed";
    }
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
    // Inline: every run of a burst passes here (see #answered).
    if (--run.task.awaitingStore === 0 && this.#hooks.heldBack.size > 0)
      this.#hooks.storeAnswered(run.task);
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
    this.#answered(run.task);
  }

  /** A deferred run's takeover claim is sent: it waits for its claim again. */
  claimingOver(run: Run): void {
    run.task.awaitingStore++;
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
    this.#answered(task);
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
    this.#answered(task);
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
    // Its row is counted waiting first: the task stays held back until that is written too.
    if (run.trigger !== "manual") this.#recorder.notClaimed(task, run.scheduledAtMs);
    this.#answered(task);
    this.#hooks.afterRun(task);
  }

  /** One of the task's runs no longer waits for its claim: once nothing waits, phase 1 may take its occurrences again. */
  #answered(task: Task): void {
    if (--task.awaitingStore === 0 && this.#hooks.heldBack.size > 0)
      this.#hooks.storeAnswered(task);
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
    return this.#inFlight.cancel(taskName, reason);
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
    tellSkippedOverlapping(this.#host, run);
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
    tellMissedAtStart(this.#host, run, reason);
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
    warnAbandonedRetry(this.#host, run, reason);
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
   * the claim records the run. A retry under a claim waits out of the queue
   * until this attempt's row is written (retried through the store's health
   * gate while the claim is held): it never starts beside a row that may
   * still be missing, which the reaper would take for an attempt to redo; a
   * row refused or abandoned drops it. Never rejects because of the store
   * (failures are events).
   */
  async finish(run: Run, outcome: DispatchOutcome): Promise<void> {
    this.#inFlight.delete(run);
    // A retry counts only once the previous attempt's row is written: if that attempt is found
    // lost meanwhile, its claim (this retry's too) is lost, and this result with it.
    if (run.previousWrite !== undefined) await run.previousWrite;
    const { claim } = run;
    const attempt = attemptOf(this.#host, run, outcome);
    // A lease lost locally (its deadline passed, or the store refused a renewal).
    if (claim !== null && this.#host.leases?.takeLost(claim) === true) {
      endLost(run, this.#hooks);
      await recordLost(this.#host, this.#recorder, run, attempt);
      return;
    }
    // A claimed run's retry is queued only once this attempt's row is written (see above).
    const retry = settle(this.#host, this.#hooks, run, attempt, claim === null);
    let written: (() => void) | undefined;
    if (retry !== null) retry.previousWrite = new Promise<void>((resolve) => (written = resolve));
    try {
      if (claim === null) {
        await this.#recorder.record(attempt.row);
      } else if (!(await this.#recorder.finish(attempt.row, claim, finishOptions(run, retry)))) {
        unsettle(run, attempt, retry, this.#hooks, this.#host.leases);
        await recordLost(this.#host, this.#recorder, run, attempt);
        return;
      }
    } finally {
      written?.();
    }
    if (retry !== null && claim !== null && retry.state === "retry-scheduled") {
      this.#hooks.queueRetry(retry, attempt.retryAtMs as number);
    }
    // A claimed run's progress was written with its row.
    if (retry === null && claim === null) await this.#recorder.persistProgress(run.task);
  }
}
