import type { DispatchOutcome, DispatchTarget, Dispatcher } from "./core/dispatcher.js";
import { planDueRuns } from "./core/misfire.js";
import { decideOverlap } from "./core/overlap.js";
import { retryDelayMs, shouldRetry } from "./core/retry.js";
import { DueQueue } from "./core/due-queue.js";
import type { Schedule } from "./core/schedule.js";
import type { QueuedRun, ResolvedTaskOptions, RunStatus, Task, TaskCallback } from "./core/task.js";
import { OrchestratorError } from "./errors.js";
import type { RunEventBase, RunTrigger } from "./events.js";
import { safeLog } from "./logger.js";
import type { Claim, ClaimRequest, RunRecord } from "./store/store.js";
import {
  PendingRetry,
  PlannedRun,
  emptyReport,
  errorFields,
  jitter,
  type RunReport,
} from "./run-plan.js";
import type { LeaseGuard } from "./lease-guard.js";
import { RunRecorder, type RunRecorderHost } from "./run-recorder.js";
import { runOutput } from "./run-output.js";
import type { Clock } from "./time/clock.js";

/** What the engine needs from its Scheduler. */
export interface RunEngineHost extends RunRecorderHost {
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly leaseMs: number;
  /** Shared stores: aborts attempts whose lease was lost, and keeps their outcome unrecorded. */
  readonly leases?: LeaseGuard;
  /** Shared stores: sends claims, waiting while the store is unreachable. */
  readonly claimGate?: <T>(call: () => Promise<T>) => Promise<T>;
  handler(name: string): TaskCallback | undefined;
  poke(dueMs: number): void;
}

const NO_RUNS: readonly number[] = Object.freeze([]);

/** Instants with fewer due entries are not planned ahead: their phase 1 is quick anyway. */
export const PLAN_AHEAD_MIN_RUNS = 64;

/** Runs planned ahead for one instant. */
interface HeldBatch {
  readonly atMs: number;
  readonly runs: PlannedRun[];
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
 * The three phases of running tasks. Phase 1 ({@link runDue}, synchronous, so
 * atomic in this process): pop due entries from the min-heap, apply misfire
 * and overlap policies, mark runs running and reschedule the task. Phase 2:
 * claim each run in the store and dispatch it, no lock held. Phase 3: record
 * the outcome, retry or release, start queued runs, persist progress.
 */
export class RunEngine {
  readonly #host: RunEngineHost;
  readonly #recorder: RunRecorder;
  readonly #queue = new DueQueue<Task | PendingRetry>();
  /** Runs started and not yet recorded (a count, not a collection: a burst pays nothing per run). */
  #inFlight = 0;
  /** `drain()` calls waiting for the count to fall. */
  #drainWaiters: (() => void)[] = [];
  #calling: object | undefined;
  /** Runs planned ahead of their instant ({@link planAhead}), not started yet. */
  #held: HeldBatch | null = null;

  constructor(host: RunEngineHost) {
    this.#host = host;
    this.#recorder = new RunRecorder(host);
  }

  /** Entries in the heap (scheduled tasks plus pending retries). */
  get scheduledCount(): number {
    return this.#queue.size + (this.#held?.runs.length ?? 0);
  }

  /** When the next entry falls due (epoch ms), or null. */
  nextDueMs(): number | null {
    const queued = this.#queue.peekKey();
    const held = this.#held;
    if (held === null) return queued;
    return queued === null || held.atMs < queued ? held.atMs : queued;
  }

  /**
   * How long before `dueMs` its runs should be planned ({@link planAhead}):
   * 0 when there is little due then or it is planned already; otherwise about
   * 2 µs per due entry plus 5 ms, so that phase 1 of a large burst (ten
   * thousand tasks on `0 * * * *`) is done, and its allocations collected,
   * before the instant, and the instant itself only starts callbacks.
   */
  leadMs(dueMs: number): number {
    if (this.#held !== null || this.#queue.peekKey() !== dueMs) return 0;
    const count = this.#queue.peekCount();
    return count < PLAN_AHEAD_MIN_RUNS ? 0 : Math.min(500, 5 + Math.ceil(count / 500));
  }

  /**
   * Phase 1, done ahead for the entries due at `dueMs` (the earliest instant)
   * that are on time, idle and without jitter: computes each one's following
   * occurrence and allocates its run, without changing the task. At the
   * instant, {@link runDue} checks that nothing changed the task meanwhile
   * (paused, removed, rescheduled, or a triggered run in flight) and only
   * then counts the run as started, reschedules the task and calls back.
   * Everything else stays queued for the ordinary phase 1.
   */
  planAhead(dueMs: number): void {
    if (this.#held !== null || this.#queue.peekKey() !== dueMs) return;
    const due = this.#queue.takeDue(dueMs) as (Task | PendingRetry)[];
    const runs: PlannedRun[] = [];
    const report = emptyReport();
    for (const item of due) {
      if (
        item instanceof PendingRetry ||
        item.nextRunMs !== dueMs ||
        item.running !== 0 ||
        (item.queue !== null && item.queue.length > 0) ||
        item.started >= item.options.maxRuns
      ) {
        this.#queue.push(item, dueMs);
        continue;
      }
      const run = new PlannedRun(item, dueMs, 1, "schedule", null, report);
      run.followingMs = item.schedule.next(dueMs);
      runs.push(run);
    }
    this.#held = { atMs: dueMs, runs };
  }

  /** Puts runs planned ahead back in the queue (the timer stopped before their instant). */
  cancelPlanned(): void {
    const held = this.#held;
    this.#held = null;
    if (held === null) return;
    for (const run of held.runs) {
      const task = run.task;
      if (this.#plannedStillValid(task, run)) this.#queue.push(task, run.scheduledAtMs);
    }
  }

  /** The first run of a new task, honouring startAt/endAt; null when it never runs. */
  firstRun(schedule: Schedule, options: ResolvedTaskOptions, nowMs: number): number | null {
    const from = Math.max(nowMs - 1, options.startAtMs - 1);
    const first = schedule.next(
      schedule.kind === "once" ? from : Math.max(nowMs, options.startAtMs - 1),
    );
    return first !== null && first <= options.endAtMs ? first : null;
  }

  /** Puts a new task in the heap. */
  schedule(task: Task, firstRunMs: number): void {
    task.nextRunMs = firstRunMs;
    const dueMs = firstRunMs + jitter(task.options);
    this.#queue.push(task, dueMs);
    this.#host.poke(dueMs);
  }

  /**
   * Retries a run whose process died while it was in flight (recorded
   * `interrupted`): attempt `attempt` under `claim`, due at `atMs`. The task
   * counts as running until it ends, as with any pending retry.
   */
  retryInterrupted(
    task: Task,
    scheduledAtMs: number,
    attempt: number,
    claim: Claim,
    atMs: number,
  ): void {
    task.running++;
    this.#queue.push(new PendingRetry(task, scheduledAtMs, attempt, claim), atMs);
    this.#host.poke(atMs);
  }

  /**
   * Tasks whose next scheduled run falls due by `untilMs` and would start at
   * once (none of their runs in flight or queued), at most `limit`: what may
   * be claimed a little ahead of time. Pending retries are left out.
   */
  dueBy(untilMs: number, limit: number): Task[] {
    const items: (Task | PendingRetry)[] = [];
    const held = this.#held;
    if (held !== null && held.atMs <= untilMs) {
      for (const run of held.runs) if (this.#plannedStillValid(run.task, run)) items.push(run.task);
    }
    this.#queue.collectDue(untilMs, limit - items.length, items);
    const tasks: Task[] = [];
    for (const item of items) {
      if (item instanceof PendingRetry) continue;
      if (item.running === 0 && (item.queue === null || item.queue.length === 0)) tasks.push(item);
    }
    return tasks;
  }

  /** Takes a removed or replaced task out: it is never rescheduled, its queue is dropped. */
  detach(task: Task): void {
    task.removed = true;
    this.#queue.remove(task);
    task.nextRunMs = Number.NaN;
    this.#dropQueue(task);
  }

  /** Pauses a task: out of the heap, queued runs dropped; a run in flight finishes. */
  pause(task: Task): void {
    if (task.state !== "active") return;
    task.state = "paused";
    this.#queue.remove(task);
    task.nextRunMs = Number.NaN;
    this.#dropQueue(task);
  }

  /** Resumes a paused task from now on. */
  resume(task: Task): void {
    if (task.state !== "paused") return;
    task.state = "active";
    const nowMs = this.#host.clock.nowMs();
    const next =
      task.started < task.options.maxRuns
        ? this.firstRun(task.schedule, task.options, nowMs)
        : null;
    if (next === null) this.#complete(task);
    else this.schedule(task, next);
  }

  /** Phase 1 for everything due at `nowMs`, then phases 2 and 3; resolves when all finished. */
  async runDue(nowMs: number): Promise<RunReport> {
    const report = emptyReport();
    const waits: Promise<void>[] = [];
    const planned = this.#collect(nowMs, report);
    if (planned.length > 0) waits.push(this.#startBatch(planned));
    if (waits.length > 0) await Promise.all(waits);
    return report;
  }

  /** Runs a task now (respecting overlap) and resolves when that run finished. */
  async trigger(task: Task): Promise<RunReport> {
    const report = emptyReport();
    const nowMs = this.#host.clock.nowMs();
    const waits: Promise<void>[] = [];
    const planned = this.#admit(task, [nowMs], "manual", report);
    if (planned.length > 0) waits.push(this.#startBatch(planned));
    if (waits.length > 0) await Promise.all(waits);
    return report;
  }

  /**
   * The token of the run whose inline callback is executing synchronously
   * right now, if any: `stop()` called from there must not wait for itself.
   */
  get calling(): object | undefined {
    return this.#calling;
  }

  /** Waits until no run is in flight, except the one holding `except` (the caller's own). */
  async drain(except: object | undefined): Promise<void> {
    for (;;) {
      const own = except instanceof PlannedRun && except.inFlight ? 1 : 0;
      if (this.#inFlight <= own) return;
      await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    }
  }

  /** Phase 1: synchronous, so no other call can collect the same entry. */
  #collect(nowMs: number, report: RunReport): PlannedRun[] {
    const planned: PlannedRun[] = [];
    const held = this.#held;
    if (held !== null && held.atMs <= nowMs) {
      this.#held = null;
      this.#admitPlanned(held.runs, nowMs, report, planned);
    }
    for (
      let due = this.#queue.takeDue(nowMs);
      due !== undefined;
      due = this.#queue.takeDue(nowMs)
    ) {
      for (const item of due) this.#collectOne(item, nowMs, report, planned);
    }
    return planned;
  }

  /**
   * The rest of phase 1 for runs planned ahead, now that their instant came.
   * A task changed since then is left alone (removed or paused: no run;
   * rescheduled: the queue has it); one that is late past its grace period
   * goes back to the queue for the misfire policy.
   */
  #admitPlanned(runs: PlannedRun[], nowMs: number, report: RunReport, planned: PlannedRun[]): void {
    for (const run of runs) {
      const task = run.task;
      if (!this.#plannedStillValid(task, run)) continue;
      const { options } = task;
      const followingMs = run.followingMs;
      if (
        nowMs - run.scheduledAtMs > options.misfireGraceMs ||
        (followingMs !== null && followingMs <= nowMs)
      ) {
        this.#queue.push(task, run.scheduledAtMs);
        continue;
      }
      run.report = report;
      if (task.started >= options.maxRuns) {
        // A triggered run reached the limit meanwhile.
      } else if (task.running === 0 && (task.queue === null || task.queue.length === 0)) {
        task.started++;
        task.running++;
        planned.push(run);
      } else {
        // A triggered run started meanwhile: the overlap policy decides.
        for (const admitted of this.#admit(task, [run.scheduledAtMs], "schedule", report))
          planned.push(admitted);
      }
      if (
        followingMs !== null &&
        followingMs <= options.endAtMs &&
        task.started < options.maxRuns
      ) {
        task.nextRunMs = followingMs;
        this.#queue.push(task, followingMs + jitter(options));
      } else {
        task.nextRunMs = Number.NaN;
        this.#completeIfIdle(task);
      }
    }
  }

  /** True when nothing moved `task` since `run` was planned ahead for it. */
  #plannedStillValid(task: Task, run: PlannedRun): boolean {
    return (
      !task.removed &&
      task.state === "active" &&
      task.queueBucket === null &&
      task.nextRunMs === run.scheduledAtMs
    );
  }

  /** Phase 1 for one entry taken from the queue. */
  #collectOne(
    item: Task | PendingRetry,
    nowMs: number,
    report: RunReport,
    planned: PlannedRun[],
  ): void {
    if (item instanceof PendingRetry) {
      const { task } = item;
      if (task.removed) {
        task.running--;
        if (item.claim !== null) void this.#recorder.release(item.claim);
        return;
      }
      planned.push(
        new PlannedRun(task, item.scheduledAtMs, item.attempt, "retry", item.claim, report),
      );
      return;
    }
    const task = item;
    const { options } = task;
    const firstMs = task.nextRunMs;
    const followingMs = task.schedule.next(firstMs);
    let runs: readonly number[] = NO_RUNS;
    let single = Number.NaN;
    let nextMs: number | null;
    let trigger: RunTrigger = "schedule";
    // Jitter delays a run on purpose: that delay is not lateness.
    const graceMs = options.misfireGraceMs + options.jitterMs;
    if (nowMs - firstMs <= graceMs && (followingMs === null || followingMs > nowMs)) {
      // The common case, kept free of allocations: one occurrence due, on time.
      single = firstMs;
      nextMs = followingMs !== null && followingMs <= options.endAtMs ? followingMs : null;
    } else {
      const plan = planDueRuns({
        firstDueMs: firstMs,
        nowMs,
        policy: options.misfire,
        graceMs,
        maxCatchUpRuns: options.maxCatchUpRuns,
        endMs: options.endAtMs,
        next: (ms) => task.schedule.next(ms),
        prev: (ms) => task.schedule.prev(ms),
      });
      if (plan.missedCount > 0) this.#recorder.missed(task, plan.missed, plan.missedCount);
      runs = plan.run;
      nextMs = plan.nextMs;
      if (plan.missedCount > 0 || runs.some((ms) => nowMs - ms > graceMs)) {
        trigger = "catch-up";
      }
    }
    if (runs.length === 1) single = runs[0] as number;
    if (
      !Number.isNaN(single) &&
      task.running === 0 &&
      (task.queue === null || task.queue.length === 0) &&
      task.started < options.maxRuns
    ) {
      // No overlap, no limit reached: start it (the common case, without #admit's allocations).
      task.started++;
      task.running++;
      planned.push(new PlannedRun(task, single, 1, trigger, null, report));
    } else {
      if (!Number.isNaN(single) && runs.length === 0) runs = [single];
      const remaining = options.maxRuns - task.started;
      if (runs.length > remaining) runs = runs.slice(0, Math.max(0, remaining));
      for (const run of this.#admit(task, runs, trigger, report)) planned.push(run);
    }
    if (nextMs !== null && task.started < options.maxRuns) {
      task.nextRunMs = nextMs;
      this.#queue.push(task, nextMs + jitter(options));
    } else {
      task.nextRunMs = Number.NaN;
      this.#completeIfIdle(task);
    }
  }

  /**
   * Applies the overlap policy to due occurrences of one task (oldest first;
   * all but the first always queue behind it). Returns the runs to start now.
   */
  #admit(
    task: Task,
    runs: readonly number[],
    trigger: RunTrigger & QueuedRun["trigger"],
    report: RunReport,
  ): PlannedRun[] {
    const planned: PlannedRun[] = [];
    if (runs.length === 0) return planned;
    const decision = decideOverlap(task.options.overlap, task.running, task.queue?.length ?? 0);
    if (decision === "skip") {
      for (const scheduledAtMs of runs) this.#recorder.skip(task, scheduledAtMs, report, "overlap");
      return planned;
    }
    for (let index = 0; index < runs.length; index++) {
      const scheduledAtMs = runs[index] as number;
      task.started++;
      if (decision === "run" && index === 0) {
        task.running++;
        planned.push(new PlannedRun(task, scheduledAtMs, 1, trigger, null, report));
      } else {
        // Nobody waits for a queued run: the caller may be the very callback it waits behind.
        (task.queue ??= []).push({ scheduledAtMs, trigger });
      }
    }
    return planned;
  }

  /**
   * Phase 2 for a batch: claim every run in one store call, then start each
   * claimed callback synchronously, one after another (inline callbacks are
   * called before this loop moves on), so a burst of due runs starts within
   * one turn of the event loop. Resolves when all have finished.
   */
  async #startBatch(runs: readonly PlannedRun[]): Promise<void> {
    const host = this.#host;
    const store = host.store;
    // A store only this scheduler uses needs no claims: phase 1 already hands each run out once.
    const useClaims = store.claimsRequired?.() ?? true;
    let claims: readonly (Claim | null)[] = [];
    if (useClaims) {
      const requests: ClaimRequest[] = [];
      for (const run of runs) {
        if (run.claimed) continue;
        requests.push({
          taskName: run.taskName,
          scheduledAt: run.scheduledAtMs,
          nodeId: host.nodeId,
          leaseMs: host.leaseMs,
          manual: run.trigger === "manual",
        });
      }
      if (requests.length > 0) {
        const send = (): Promise<(Claim | null)[]> =>
          store.claimRuns !== undefined
            ? store.claimRuns(requests)
            : Promise.all(requests.map((request) => store.claimRun(request)));
        try {
          claims = host.claimGate !== undefined ? await host.claimGate(send) : await send();
        } catch (error) {
          host.emit("scheduler:error", { error, context: "claim" });
          safeLog(host.logger, "error", { err: error }, "Could not claim due runs");
          claims = [];
        }
      }
    }
    await Promise.all(this.#startClaimed(runs, useClaims, claims));
  }

  /**
   * Starts the runs of a batch whose claims are in. Synchronous on purpose:
   * V8 cannot optimize a hot loop inside an async function while it runs
   * (no on-stack replacement there), and a cold burst spends its time here.
   * Returns one promise per started run, settled once it is recorded.
   */
  #startClaimed(
    runs: readonly PlannedRun[],
    useClaims: boolean,
    claims: readonly (Claim | null)[],
  ): Promise<void>[] {
    const host = this.#host;
    const finished: Promise<void>[] = [];
    const settled: PlannedRun[] = [];
    // Asked once per batch: a listener added by a callback hears from the next batch on.
    const announce = host.hasListeners("run:start");
    let next = 0;
    for (const run of runs) {
      if (!run.claimed) {
        if (useClaims) {
          const claim = claims[next++] ?? null;
          if (claim === null) {
            const { task } = run;
            task.running--;
            task.started--;
            this.#recorder.skip(task, run.scheduledAtMs, run.report, "claimed");
            this.#afterRun(task);
            continue;
          }
          run.claim = claim;
        }
        run.claimed = true;
      }
      if (run.claim !== null && host.leases !== undefined)
        run.signal = host.leases.signal(run.claim);
      this.#inFlight++;
      run.inFlight = true;
      const outcome = this.#begin(run, announce);
      if (outcome instanceof Promise) {
        finished.push(outcome.then((result) => this.#finish(run, result)));
      } else {
        run.outcome = outcome;
        settled.push(run);
      }
    }
    // Callbacks that returned synchronously are recorded after every run of the batch has started.
    for (const run of settled) finished.push(this.#finish(run, run.outcome as DispatchOutcome));
    return finished;
  }

  /** Starts one claimed attempt: inline callbacks are called before this returns. */
  #begin(run: PlannedRun, announce: boolean): DispatchOutcome | Promise<DispatchOutcome> {
    const host = this.#host;
    const { task } = run;
    run.report.ran++;
    run.startedAtMs = host.clock.nowMs();
    task.lastRunMs = run.startedAtMs;
    if (announce) {
      host.emit("run:start", {
        taskName: task.name,
        scheduledAt: new Date(run.scheduledAtMs),
        attempt: run.attempt,
        trigger: run.trigger,
        runId: run.runId,
        startedAt: new Date(run.startedAtMs),
      });
    }
    run.startMono = host.clock.monotonicMs();
    this.#calling = run;
    try {
      return host.dispatcher.run(this.#target(task), run);
    } finally {
      this.#calling = undefined;
    }
  }

  /** Phase 3 of one attempt; never rejects. */
  async #finish(run: PlannedRun, outcome: DispatchOutcome): Promise<void> {
    try {
      await this.#record3(run, outcome);
    } catch (error) {
      safeLog(
        this.#host.logger,
        "error",
        { err: error, taskName: run.task.name },
        "Internal error while running a task",
      );
      this.#host.emit("scheduler:error", { error, context: "run", taskName: run.task.name });
    } finally {
      run.inFlight = false;
      this.#inFlight--;
      // A drain waits for zero, or for one when that one is its caller's own run.
      if (this.#inFlight <= 1 && this.#drainWaiters.length > 0) {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const wake of waiters) wake();
      }
      if (run.claim !== null) this.#host.leases?.done(run.claim);
    }
  }

  async #record3(run: PlannedRun, outcome: DispatchOutcome): Promise<void> {
    const claim = run.claim;
    const host = this.#host;
    const { task, scheduledAtMs, attempt, report, startedAtMs, startMono } = run;
    if (claim !== null && host.leases?.takeLost(claim) === true) {
      // The lease was lost: another node reaps the claim, records the run interrupted and retries it.
      report.failed++;
      task.running--;
      this.#afterRun(task);
      return;
    }
    // Phase 3: update the task synchronously, then tell listeners, then persist.
    const durationMs = host.clock.monotonicMs() - startMono;
    const finishedAtMs = host.clock.nowMs();
    const status: RunStatus = outcome.ok ? "succeeded" : outcome.timedOut ? "timed-out" : "failed";
    const error = outcome.ok ? undefined : outcome.error;
    const willRetry =
      !outcome.ok && !task.removed && shouldRetry(task.options.retries, attempt, error);
    const retryAtMs = willRetry ? finishedAtMs + retryDelayMs(task.options.retries, attempt) : null;
    task.lastStatus = status;
    if (retryAtMs !== null) {
      // The run goes on (the task still counts as running) until its retries end.
      this.#queue.push(new PendingRetry(task, scheduledAtMs, attempt + 1, claim), retryAtMs);
      host.poke(retryAtMs);
    } else {
      task.running--;
      task.runCount++;
      this.#afterRun(task);
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
    if (claim !== null && !willRetry) await this.#recorder.finish(row, claim);
    else await this.#recorder.record(row);
    if (willRetry) return;
    await this.#recorder.persistProgress(task);
  }

  /** After a run ended (synchronously): start the next queued run, or complete the task. */
  #afterRun(task: Task): void {
    if (task.removed || !this.#host.isCurrent(task)) {
      this.#dropQueue(task);
      return;
    }
    const queue = task.queue;
    if (
      queue !== null &&
      queue.length > 0 &&
      (task.running === 0 || task.options.overlap === "allow")
    ) {
      const next = queue.shift() as QueuedRun;
      task.running++;
      void this.#startBatch([
        new PlannedRun(task, next.scheduledAtMs, 1, next.trigger, null, emptyReport()),
      ]);
    } else {
      this.#completeIfIdle(task);
    }
  }

  #target(task: Task): DispatchTarget {
    const callback = task.callback;
    if (typeof callback === "function") return { kind: "inline", fn: callback };
    if (typeof callback === "string") {
      const handler = this.#host.handler(callback);
      if (handler === undefined) {
        const error = new OrchestratorError(
          "ERR_INVALID_ARGUMENT",
          `No handler named ${JSON.stringify(callback)} is defined; call scheduler.defineHandler(${JSON.stringify(callback)}, fn)`,
        );
        return { kind: "inline", fn: () => Promise.reject(error) };
      }
      return { kind: "inline", fn: handler };
    }
    return { kind: "module", module: callback.module, exportName: callback.export ?? "default" };
  }

  #dropQueue(task: Task): void {
    const queue = task.queue;
    task.queue = null;
    if (queue === null) return;
    task.started -= queue.length;
  }

  #completeIfIdle(task: Task): void {
    // A task planned ahead is out of the queue but keeps its next run: not complete.
    if (task.state !== "active" || task.removed || task.queueBucket !== null) return;
    if (!Number.isNaN(task.nextRunMs)) return;
    if (task.running > 0 || (task.queue?.length ?? 0) > 0) return;
    task.state = "completed";
    task.nextRunMs = Number.NaN;
    this.#host.emit("task:completed", task.info());
  }

  #complete(task: Task): void {
    task.state = "completed";
    task.nextRunMs = Number.NaN;
    this.#host.emit("task:completed", task.info());
  }
}
