import type { Dispatcher } from "../core/dispatcher.js";
import { DueQueue } from "../core/due-queue.js";
import { MISSED_LIST_LIMIT, planDueRuns } from "../core/misfire.js";
import type { Schedule } from "../core/schedule.js";
import { beforeEnd, firstRunOf, type TaskScheduling } from "../core/task-window.js";
import type { ResolvedTaskOptions, Task } from "../core/task.js";
import type { RunTrigger } from "../events.js";
import type { Claim } from "../store/store.js";
import { isManualClock } from "../time/clock.js";
import { AheadPlanner, type ClaimsAheadSource, type PlanAheadMode } from "./ahead-planner.js";
import { graceMs, jitter, onTime } from "./due-rules.js";
import { admitOverlapping } from "./overlap-admission.js";
import { HELD_BACK, HeldBackTasks } from "./held-back.js";
import { emptyReport, Run, type RunReport } from "./run.js";
import { RunLifecycle } from "./run-lifecycle.js";
import { RunRecorder } from "./run-recorder.js";
import { recoverInterruptedRuns, type BeforeRecovery } from "./run-recovery.js";
import { RunStarter, type RunStartHost } from "./run-start.js";

/** What the engine needs from its Scheduler. */
export interface RunEngineHost extends RunStartHost {
  readonly dispatcher: Dispatcher;
  /** Stores that claim ahead: where runs planned ahead take their claims. */
  readonly claimsAhead?: ClaimsAheadSource;
  /**
   * Planning ahead of large instants (docs/internals.md): `auto` for instants
   * of 64 due entries or more, `always` for every instant (also with a manual
   * clock, where the instant is planned when collected), `off` never.
   * @defaultValue "auto"
   */
  readonly planAhead?: PlanAheadMode;
  /** See `SchedulerOptions.beforeRecovery`. */
  readonly beforeRecovery?: BeforeRecovery;
  /** A due occurrence was held back: the store had not answered for an earlier run of its task. */
  heldBack?(): void;
  poke(dueMs: number): void;
}

const NO_RUNS: readonly number[] = Object.freeze([]);

/**
 * The run pipeline. Phase 1 ({@link runDue}, synchronous, so atomic in this
 * process): take the due entries from the queue, apply the misfire and
 * overlap policies, admit runs and reschedule each task; for a large
 * instant most of it is planned ahead ({@link AheadPlanner}). Phase 2
 * ({@link RunStarter}): claim the runs in the store and call them, no lock
 * held. Phase 3 ({@link RunLifecycle.finish}): record each outcome, retry or
 * release, start queued runs. Every change of a run's state goes through
 * {@link RunLifecycle}.
 */
export class RunEngine implements TaskScheduling {
  readonly #host: RunEngineHost;
  readonly #life: RunLifecycle;
  readonly #recorder: RunRecorder;
  readonly #queue = new DueQueue<Task | Run>();
  readonly #starter: RunStarter;
  readonly #planner: AheadPlanner;
  readonly #planAlways: boolean;
  readonly #heldBack: HeldBackTasks;

  constructor(host: RunEngineHost) {
    this.#host = host;
    this.#heldBack = new HeldBackTasks({
      queue: this.#queue,
      poke: (dueMs) => host.poke(dueMs),
      missed: (task, missed) => this.#life.missed(task, missed),
    });
    // A manual clock's time is set by the test, not waited for: finishes combine per turn only.
    const storeAnswered = (task: Task): void => this.#heldBack.release(task);
    this.#recorder = new RunRecorder(host, {
      ...(isManualClock(host.clock) ? { finishWindowMs: 0 } : {}),
      storeAnswered,
    });
    this.#life = new RunLifecycle(host, this.#recorder, {
      queueRetry: (run, atMs) => {
        this.#queue.push(run, atMs);
        host.poke(atMs);
      },
      dropRetry: (run) => void this.#queue.remove(run),
      afterRun: (task) => this.#afterRun(task),
      maxRunsReached: (task) => this.#maxRunsReached(task),
      storeAnswered,
      heldBack: this.#heldBack,
    });
    this.#starter = new RunStarter(host, this.#life, () => this.#recorder.batcher?.room());
    const mode = host.planAhead ?? "auto";
    this.#planAlways = mode === "always";
    this.#planner = new AheadPlanner({
      mode,
      queue: this.#queue,
      life: this.#life,
      collect: (task, nowMs, report, planned) => this.#collectTask(task, nowMs, report, planned),
      reschedule: (task, nextMs) => this.#reschedule(task, nextMs),
      handler: (name) => host.handler(name),
      ...(host.claimsAhead === undefined ? {} : { claimsAhead: host.claimsAhead }),
    });
  }

  /** Entries scheduled: queued tasks and retries, plus runs planned ahead. */
  get scheduledCount(): number {
    return this.#queue.size + this.#planner.size;
  }

  /** When the next entry falls due (epoch ms), or null. */
  nextDueMs(): number | null {
    const queued = this.#queue.peekKey();
    const planned = this.#planner.atMs;
    if (planned === null) return queued;
    return queued === null || planned < queued ? planned : queued;
  }

  /** How long before `dueMs` to call {@link planAhead} for it (0: no need). */
  planLeadMs(dueMs: number): number {
    return this.#planner.planLeadMs(dueMs);
  }

  /** Plans phase 1 of the instant `dueMs` ahead of it (see {@link AheadPlanner}). */
  planAhead(dueMs: number): void {
    this.#planner.plan(dueMs);
  }

  /** Puts runs planned ahead back in the queue (the timer stopped before their instant). */
  cancelPlanned(): void {
    this.#planner.cancel();
  }

  /** The first run of a new task, honouring startAt/endAt; null when it never runs. */
  firstRun(schedule: Schedule, options: ResolvedTaskOptions, nowMs: number): number | null {
    return firstRunOf(schedule, options, nowMs);
  }

  /** Puts a new task in the queue. */
  schedule(task: Task, firstRunMs: number): void {
    task.nextRunMs = firstRunMs;
    const dueMs = firstRunMs + jitter(task.options);
    this.#queue.push(task, dueMs);
    this.#host.poke(dueMs);
  }

  /**
   * Reaps the claims of processes that died with runs in flight (expired
   * leases of any node; at start, every claim left by this node id), records
   * those runs `interrupted` and retries them per policy. Never rejects.
   * Resolves with how many were found.
   */
  recoverInterrupted(atStart: boolean): Promise<number> {
    const host = this.#host;
    return recoverInterruptedRuns(
      {
        store: host.store,
        clock: host.clock,
        logger: host.logger,
        nodeId: host.nodeId,
        leaseMs: host.leaseMs,
        task: (name) => host.task(name),
        retryInterrupted: (task, scheduledAtMs, attempt, claim, atMs) =>
          this.#retryInterrupted(task, scheduledAtMs, attempt, claim, atMs),
        emit: (event, ...payload) => host.emit(event, ...payload),
        finish: (record, claim, options) => this.#recorder.finish(record, claim, options),
        ...(host.abandon === undefined ? {} : { abandon: (claim: Claim) => host.abandon?.(claim) }),
        ...(host.beforeRecovery === undefined ? {} : { beforeRecovery: host.beforeRecovery }),
      },
      atStart,
    );
  }

  /**
   * Tasks whose next scheduled run falls due after `afterMs` and by `untilMs`
   * and would start at once (none of their runs in flight or queued), at most
   * `limit`: what may be claimed a little ahead of time. Retries are left out.
   * `busy.earliestMs` is lowered to the next run of any task left out because
   * a run of it was still in flight or waiting for the store (idle soon, most
   * likely: its previous run's row on its way).
   */
  dueBy(
    untilMs: number,
    limit: number,
    afterMs = Number.NEGATIVE_INFINITY,
    busy?: { earliestMs: number },
  ): Task[] {
    const tasks: Task[] = [];
    this.#planner.dueBy(untilMs, tasks, afterMs);
    const items: (Task | Run)[] = [];
    this.#queue.collectDue(untilMs, limit - tasks.length, items, afterMs);
    for (const item of items) {
      if (!isTask(item)) continue;
      if (item.idle && item.awaitingStore === 0) tasks.push(item);
      else if (busy !== undefined && item.nextRunMs < busy.earliestMs)
        busy.earliestMs = item.nextRunMs;
    }
    return tasks;
  }

  /** Takes the task again from `fromMs`: its runs were nobody's meanwhile (see HeldBackTasks.rewind). */
  rewind(task: Task, fromMs: number): void {
    this.#heldBack.rewind(task, fromMs);
  }

  /** Takes a removed or replaced task out: it is never rescheduled, its queue is dropped. */
  detach(task: Task): void {
    task.removed = true;
    this.#queue.remove(task);
    this.#heldBack.drop(task, this.#host.clock.nowMs());
    task.nextRunMs = Number.NaN;
    this.#life.dropQueue(task);
  }

  /** Pauses a task: out of the queue, queued runs dropped; a run in flight finishes. */
  pause(task: Task): void {
    if (task.state !== "active") return;
    task.state = "paused";
    this.#queue.remove(task);
    this.#heldBack.drop(task, this.#host.clock.nowMs());
    task.nextRunMs = Number.NaN;
    this.#life.dropQueue(task);
  }

  /** Cancels the task's attempts in flight in this scheduler (see `RunLifecycle.cancel`). */
  cancel(taskName: string, reason: unknown): number {
    return this.#life.cancel(taskName, reason);
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
    // `always`: every instant goes through the planner; one the timer did not plan is planned now.
    if (this.#planAlways) this.#planNext(nowMs);
    const planned = this.#collect(nowMs, report);
    const started = planned.length > 0 ? this.#starter.startBatch(planned) : undefined;
    this.#planner.requeue();
    // `always` plans the next instant as soon as it can: whatever happens before it
    // (pauses, removals, triggers, registrations) meets runs already planned.
    if (this.#planAlways) this.#planNext(Number.POSITIVE_INFINITY);
    await started;
    return report;
  }

  /** Runs a task now (respecting overlap) and resolves when that run finished. */
  async trigger(task: Task): Promise<RunReport> {
    const report = emptyReport();
    const planned: Run[] = [];
    admitOverlapping(this.#life, task, [this.#host.clock.nowMs()], "manual", report, planned);
    if (planned.length > 0) await this.#starter.startBatch(planned);
    return report;
  }

  /**
   * The token of the run whose inline callback is executing synchronously
   * right now, if any: `stop()` called from there must not wait for itself.
   */
  get calling(): object | undefined {
    return this.#starter.calling;
  }

  /** Waits until no run is in flight (claims included), except the one holding `except` (the caller's own). */
  async drain(except: object | undefined): Promise<void> {
    // Finishes waiting for their batch go now: stop() does not wait out the window.
    const flushed = this.#recorder.flush();
    await this.#starter.drain(except);
    await flushed;
    // Occurrences held back are recorded now: this process may exit next.
    this.#heldBack.stop(this.#host.clock.nowMs());
    await this.#recorder.settled();
  }

  /** Runs whose claims come back from now on are recorded missed, not started (`stop()`). */
  stopStarting(): void {
    this.#starter.stopStarting();
  }

  /** Runs start again (`start()`). */
  resumeStarting(): void {
    this.#starter.resumeStarting();
  }

  /** Plans the earliest queued instant if it is due by `byMs` and nothing is planned. */
  #planNext(byMs: number): void {
    const dueMs = this.#queue.peekKey();
    if (dueMs !== null && dueMs <= byMs && this.#planner.atMs === null) this.#planner.plan(dueMs);
  }

  /** Phase 1: synchronous, so no other call can collect the same entry. */
  #collect(nowMs: number, report: RunReport): Run[] {
    const planned = this.#planner.admitDue(nowMs, report);
    for (
      let due = this.#queue.takeDue(nowMs);
      due !== undefined;
      due = this.#queue.takeDue(nowMs)
    ) {
      for (const item of due) {
        if (isTask(item)) {
          this.#collectTask(item, nowMs, report, planned);
        } else {
          const retry = this.#life.retryCollected(item, report);
          if (retry !== null) planned.push(retry);
        }
      }
    }
    return planned;
  }

  /**
   * Phase 1's rules for one task taken out of the queue for its next run
   * (`task.nextRunMs`) at `nowMs`: on time, or the misfire policy; then the
   * overlap policy and `maxRuns`; then its next run is queued. Runs to start
   * now are appended to `planned`. The planner hands back here every planned
   * run that is not simply on time and ready.
   */
  #collectTask(task: Task, nowMs: number, report: RunReport, planned: Run[]): void {
    const { options } = task;
    if (task.awaitingStore > 0) {
      // The store has not answered for an earlier run: nothing is added behind it.
      this.#host.heldBack?.();
      this.#heldBack.hold(task, nowMs);
      return;
    }
    const firstMs = task.nextRunMs;
    const heldBack = this.#heldBack.releasedAt(task, firstMs);
    const followingMs = task.schedule.next(firstMs);
    let runs: readonly number[] = NO_RUNS;
    let single = Number.NaN;
    let nextMs: number | null;
    let trigger: RunTrigger = "schedule";
    if (onTime(options, firstMs, followingMs, nowMs)) {
      // The common case, kept free of allocations: one occurrence due, on time.
      single = firstMs;
      nextMs = beforeEnd(options, followingMs);
    } else {
      const lateAfterMs = graceMs(options);
      const plan = planDueRuns({
        firstDueMs: firstMs,
        nowMs,
        policy: options.misfire,
        graceMs: lateAfterMs,
        maxCatchUpRuns: options.maxCatchUpRuns,
        endMs: options.endAtMs,
        schedule: task.schedule,
        // Listing missed times is for the event: without a listener, the first (the row's) is enough.
        listLimit: this.#host.hasListeners("run:missed") ? MISSED_LIST_LIMIT : 1,
      });
      if (plan.missedCount > 0) {
        this.#life.missed(task, {
          listed: plan.missed,
          firstMs: plan.missed[0] ?? firstMs,
          lastMs: plan.missedThroughMs,
          count: plan.missedCount,
          ...(heldBack ? { reason: HELD_BACK } : {}),
        });
      }
      runs = plan.run;
      nextMs = plan.nextMs;
      if (plan.missedCount > 0 || runs.some((ms) => nowMs - ms > lateAfterMs)) {
        trigger = "catch-up";
      }
    }
    if (runs.length === 1) single = runs[0] as number;
    if (!Number.isNaN(single) && task.idle && task.started < options.maxRuns) {
      // No overlap, no limit reached: start it (the common case, without admitOverlapping's allocations).
      planned.push(this.#life.admit(task, single, trigger, report));
    } else {
      if (!Number.isNaN(single) && runs.length === 0) runs = [single];
      const remaining = options.maxRuns - task.started;
      if (runs.length > remaining) runs = runs.slice(0, Math.max(0, remaining));
      admitOverlapping(this.#life, task, runs, trigger, report, planned);
    }
    this.#reschedule(task, nextMs);
  }

  /** Queues the task's next run, or, with none left (or maxRuns reached), completes it once idle. */
  #reschedule(task: Task, nextMs: number | null): void {
    if (nextMs !== null && task.started < task.options.maxRuns) {
      task.nextRunMs = nextMs;
      this.#queue.push(task, nextMs + jitter(task.options));
    } else {
      task.nextRunMs = Number.NaN;
      this.#completeIfIdle(task);
    }
  }

  /** After a run ended (synchronously): start the next queued run, or complete the task. */
  #afterRun(task: Task): void {
    if (task.removed) {
      this.#life.dropQueue(task);
      return;
    }
    const next = this.#life.dequeue(task);
    if (next !== null) void this.#starter.startBatch([next]);
    else this.#completeIfIdle(task);
  }

  /** Other nodes started the task's last runs: nothing more is scheduled or queued here. */
  #maxRunsReached(task: Task): void {
    this.#queue.remove(task);
    this.#heldBack.forget(task);
    task.nextRunMs = Number.NaN;
    this.#life.dropQueue(task);
    task.started = Math.max(task.started, task.options.maxRuns);
    if (!task.removed) this.#completeIfIdle(task);
  }

  /** A run whose process died in flight is retried as `attempt` under `claim`, due at `atMs`. */
  #retryInterrupted(
    task: Task,
    scheduledAtMs: number,
    attempt: number,
    claim: Claim,
    atMs: number,
  ): void {
    this.#queue.push(this.#life.recovered(task, scheduledAtMs, attempt, claim), atMs);
    this.#host.poke(atMs);
  }

  #completeIfIdle(task: Task): void {
    // A task planned ahead is out of the queue but keeps its next run: not complete.
    if (task.state !== "active" || task.removed || task.queueBucket !== null) return;
    if (!Number.isNaN(task.nextRunMs)) return;
    if (!task.idle) return;
    this.#complete(task);
  }

  #complete(task: Task): void {
    task.state = "completed";
    task.nextRunMs = Number.NaN;
    this.#host.emit("task:completed", task.info());
  }
}

/** Queue entries are tasks (their next run) or runs (retries). */
function isTask(item: Task | Run): item is Task {
  return !(item instanceof Run);
}
