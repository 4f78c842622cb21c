import type { Dispatcher } from "./core/dispatcher.js";
import { DueQueue } from "./core/due-queue.js";
import { planDueRuns } from "./core/misfire.js";
import { decideOverlap } from "./core/overlap.js";
import type { Schedule } from "./core/schedule.js";
import type { QueuedRun, ResolvedTaskOptions, Task } from "./core/task.js";
import { AheadPlanner, type ClaimsAheadSource } from "./ahead-planner.js";
import type { RunTrigger } from "./events.js";
import { recordAttempt, type RunFinishHost } from "./run-finish.js";
import {
  PendingRetry,
  PlannedRun,
  beforeEnd,
  emptyReport,
  firstRunOf,
  graceMs,
  jitter,
  onTime,
  type RunReport,
} from "./run-plan.js";
import { RunRecorder } from "./run-recorder.js";
import { RunStarter, type RunStartHost } from "./run-start.js";
import type { Claim } from "./store/store.js";

/** What the engine needs from its Scheduler. */
export interface RunEngineHost extends RunStartHost, RunFinishHost {
  readonly dispatcher: Dispatcher;
  /** Stores that claim ahead: where runs planned ahead take their claims. */
  readonly claimsAhead?: ClaimsAheadSource;
  poke(dueMs: number): void;
}

const NO_RUNS: readonly number[] = Object.freeze([]);

/**
 * The three phases of running tasks. Phase 1 ({@link runDue}, synchronous, so
 * atomic in this process): take the due entries from the queue, apply misfire
 * and overlap policies, mark runs running and reschedule the task; for a
 * large instant, most of it is planned ahead ({@link AheadPlanner}). Phase 2
 * ({@link RunStarter}): claim each run in the store and dispatch it, no lock
 * held. Phase 3 ({@link recordAttempt}): record the outcome, retry or release,
 * start queued runs, persist progress.
 */
export class RunEngine {
  readonly #host: RunEngineHost;
  readonly #recorder: RunRecorder;
  readonly #queue = new DueQueue<Task | PendingRetry>();
  readonly #starter: RunStarter;
  readonly #planner: AheadPlanner;

  constructor(host: RunEngineHost) {
    this.#host = host;
    const recorder = new RunRecorder(host);
    this.#recorder = recorder;
    const finishing = {
      host,
      recorder,
      retryAt: (retry: PendingRetry, atMs: number) => {
        this.#queue.push(retry, atMs);
        host.poke(atMs);
      },
      afterRun: (task: Task) => this.#afterRun(task),
    };
    this.#starter = new RunStarter(host, recorder, {
      record: (run, outcome) => recordAttempt(finishing, run, outcome),
      afterRun: (task) => this.#afterRun(task),
    });
    this.#planner = new AheadPlanner({
      queue: this.#queue,
      admit: (task, runs, trigger, report) => this.#admit(task, runs, trigger, report),
      reschedule: (task, nextMs) => this.#reschedule(task, nextMs),
      handler: (name) => this.#host.handler(name),
      ...(host.claimsAhead === undefined ? {} : { claimsAhead: host.claimsAhead }),
    });
  }

  /** Entries scheduled: queued tasks and pending retries, plus runs planned ahead. */
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
  leadMs(dueMs: number): number {
    return this.#planner.leadMs(dueMs);
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
   * Tasks whose next scheduled run falls due after `afterMs` and by `untilMs`
   * and would start at once (none of their runs in flight or queued), at most
   * `limit`: what may be claimed a little ahead of time. Pending retries are
   * left out.
   */
  dueBy(untilMs: number, limit: number, afterMs = Number.NEGATIVE_INFINITY): Task[] {
    const tasks: Task[] = [];
    this.#planner.dueBy(untilMs, tasks, afterMs);
    const items: (Task | PendingRetry)[] = [];
    this.#queue.collectDue(untilMs, limit - tasks.length, items, afterMs);
    for (const item of items) {
      if (item instanceof PendingRetry) continue;
      if (item.idle) tasks.push(item);
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

  /** Pauses a task: out of the queue, queued runs dropped; a run in flight finishes. */
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
    const planned = this.#collect(nowMs, report);
    const started = planned.length > 0 ? this.#starter.startBatch(planned) : undefined;
    this.#planner.requeue();
    await started;
    return report;
  }

  /** Runs a task now (respecting overlap) and resolves when that run finished. */
  async trigger(task: Task): Promise<RunReport> {
    const report = emptyReport();
    const planned = this.#admit(task, [this.#host.clock.nowMs()], "manual", report);
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

  /** Waits until no run is in flight, except the one holding `except` (the caller's own). */
  drain(except: object | undefined): Promise<void> {
    return this.#starter.drain(except);
  }

  /** Phase 1: synchronous, so no other call can collect the same entry. */
  #collect(nowMs: number, report: RunReport): PlannedRun[] {
    const planned = this.#planner.admitDue(nowMs, report);
    for (
      let due = this.#queue.takeDue(nowMs);
      due !== undefined;
      due = this.#queue.takeDue(nowMs)
    ) {
      for (const item of due) this.#collectOne(item, nowMs, report, planned);
    }
    return planned;
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
        next: (ms) => task.schedule.next(ms),
        prev: (ms) => task.schedule.prev(ms),
      });
      if (plan.missedCount > 0) this.#recorder.missed(task, plan.missed, plan.missedCount);
      runs = plan.run;
      nextMs = plan.nextMs;
      if (plan.missedCount > 0 || runs.some((ms) => nowMs - ms > lateAfterMs)) {
        trigger = "catch-up";
      }
    }
    if (runs.length === 1) single = runs[0] as number;
    if (!Number.isNaN(single) && task.idle && task.started < options.maxRuns) {
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
      void this.#starter.startBatch([
        new PlannedRun(task, next.scheduledAtMs, 1, next.trigger, null, emptyReport()),
      ]);
    } else {
      this.#completeIfIdle(task);
    }
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
    if (!task.idle) return;
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
