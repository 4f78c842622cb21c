import type { DueQueue } from "./core/due-queue.js";
import type { QueuedRun, Task } from "./core/task.js";
import {
  PendingRetry,
  PlannedRun,
  beforeEnd,
  emptyReport,
  onTime,
  type RunReport,
} from "./run-plan.js";

/** Instants with fewer due entries are not planned ahead: their phase 1 is quick anyway. */
export const PLAN_AHEAD_MIN_RUNS = 64;

/** What the planner needs from the engine. */
export interface AheadPlannerHost {
  readonly queue: DueQueue<Task | PendingRetry>;
  /** The overlap policy for due occurrences of a task with a run in flight; returns what starts now. */
  admit(
    task: Task,
    runs: readonly number[],
    trigger: QueuedRun["trigger"],
    report: RunReport,
  ): PlannedRun[];
  /** Queues the task's next run (null: none), as phase 1 does after taking a run. */
  reschedule(task: Task, nextMs: number | null): void;
}

/**
 * Phase 1 of a large instant, done a few milliseconds ahead of it, so that
 * at the instant itself (ten thousand tasks on `0 * * * *`) there is little
 * left to do but call back. Planning computes each on-time, idle entry's
 * following occurrence and allocates its run without changing the task; at
 * the instant, each run is checked against what happened meanwhile (paused,
 * removed, rescheduled, a triggered run in flight, late past its grace)
 * before it counts as started. Entries of any other kind stay queued for the
 * ordinary phase 1.
 */
export class AheadPlanner {
  readonly #host: AheadPlannerHost;
  #atMs = Number.NaN;
  #runs: PlannedRun[] | null = null;
  /** Tasks admitted at the instant whose next run is not queued yet (see {@link requeue}). */
  #requeue: Task[] = [];

  constructor(host: AheadPlannerHost) {
    this.#host = host;
  }

  /** The instant planned for, or null. */
  get atMs(): number | null {
    return this.#runs === null ? null : this.#atMs;
  }

  /** Runs planned and not started yet. */
  get size(): number {
    return this.#runs?.length ?? 0;
  }

  /**
   * How long before `dueMs` to plan it: 0 when little is due then or it is
   * planned already; otherwise 5 ms plus 2 µs per due entry (at most 500 ms),
   * so planning, and collecting what it allocated, is over before the instant.
   */
  leadMs(dueMs: number): number {
    const queue = this.#host.queue;
    if (this.#runs !== null || queue.peekKey() !== dueMs) return 0;
    const count = queue.peekCount();
    return count < PLAN_AHEAD_MIN_RUNS ? 0 : Math.min(500, 5 + Math.ceil(count / 500));
  }

  /** Plans the earliest instant, if it is `dueMs` and nothing is planned yet. */
  plan(dueMs: number): void {
    const queue = this.#host.queue;
    if (this.#runs !== null || queue.peekKey() !== dueMs) return;
    const due = queue.takeDue(dueMs) as (Task | PendingRetry)[];
    const runs: PlannedRun[] = [];
    const report = emptyReport();
    for (const item of due) {
      // The same test as at the instant, which thus finds it warm.
      if (item instanceof PendingRetry || !item.readyFor(dueMs)) {
        queue.push(item, dueMs);
        continue;
      }
      const run = new PlannedRun(item, dueMs, 1, "schedule", null, report);
      run.followingMs = item.schedule.next(dueMs);
      runs.push(run);
    }
    this.#atMs = dueMs;
    this.#runs = runs;
  }

  /** Puts the planned runs' tasks back in the queue (the timer stopped before their instant). */
  cancel(): void {
    const runs = this.#take();
    for (const run of runs) {
      if (stillPlanned(run)) this.#host.queue.push(run.task, run.scheduledAtMs);
    }
  }

  /** Appends the tasks of runs planned for `untilMs` or earlier (what may be claimed ahead). */
  dueBy(untilMs: number, out: Task[]): void {
    if (this.#runs === null || this.#atMs > untilMs) return;
    for (const run of this.#runs) if (stillPlanned(run)) out.push(run.task);
  }

  /**
   * At or after the planned instant: the rest of phase 1 for each run still
   * valid, appending those that start now to `planned`. A task changed
   * meanwhile is left alone (removed or paused: no run; rescheduled: the
   * queue has it); one found late past its grace period goes back to the
   * queue, for the misfire policy.
   */
  admitDue(nowMs: number, report: RunReport, planned: PlannedRun[]): void {
    if (this.#runs === null || this.#atMs > nowMs) return;
    const { queue } = this.#host;
    for (const run of this.#take()) {
      const { task, scheduledAtMs, followingMs } = run;
      const { options } = task;
      const ready = task.readyFor(scheduledAtMs);
      if (!ready && !stillPlanned(run)) continue;
      if (!onTime(options, scheduledAtMs, followingMs, nowMs)) {
        queue.push(task, scheduledAtMs);
        continue;
      }
      run.report = report;
      if (ready) {
        task.started++;
        task.running++;
        planned.push(run);
      } else if (task.started < options.maxRuns) {
        // A triggered run started meanwhile: the overlap policy decides.
        for (const admitted of this.#host.admit(task, [scheduledAtMs], "schedule", report))
          planned.push(admitted);
      } // else a triggered run used up maxRuns meanwhile.
      const nextMs = beforeEnd(options, followingMs);
      if (nextMs !== null && task.started < options.maxRuns) {
        // Its next run is known now; queueing it waits until the callbacks have been called.
        task.nextRunMs = nextMs;
        this.#requeue.push(task);
      } else {
        this.#host.reschedule(task, null);
      }
    }
  }

  /**
   * Queues the next run of each task admitted by {@link admitDue}, unless a
   * callback moved the task meanwhile (removed, paused, rescheduled). Called
   * once the instant's callbacks have started, which is all that is late.
   */
  requeue(): void {
    const tasks = this.#requeue;
    if (tasks.length === 0) return;
    this.#requeue = [];
    for (const task of tasks) {
      if (!task.removed && task.state === "active" && task.queueBucket === null)
        this.#host.reschedule(task, task.nextRunMs);
    }
  }

  #take(): PlannedRun[] {
    const runs = this.#runs ?? [];
    this.#runs = null;
    this.#atMs = Number.NaN;
    return runs;
  }
}

/** True when nothing moved the run's task since the run was planned. */
function stillPlanned(run: PlannedRun): boolean {
  return run.task.takenFor(run.scheduledAtMs);
}
