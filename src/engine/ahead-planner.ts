import { RunContext } from "../core/run-context.js";
import type { DueQueue } from "../core/due-queue.js";
import type { QueuedRun, Task, TaskCallback } from "../core/task.js";
import { beforeEnd } from "../core/task-window.js";
import type { Claim } from "../store/store.js";
import {
  PendingRetry,
  PlannedRun,
  emptyReport,
  graceMs,
  onTime,
  type RunReport,
} from "./run-plan.js";

const NO_RUNS: readonly PlannedRun[] = Object.freeze([]);

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
  /** The function defined for a handler name, if any. */
  handler(name: string): TaskCallback | undefined;
  /** Claims taken ahead of their time (stores that claim ahead): planned runs take theirs. */
  readonly claimsAhead?: ClaimsAheadSource;
}

/** Where planning takes the claims taken ahead for its runs, and gives back those of runs that do not start. */
export interface ClaimsAheadSource {
  /** Removes and returns the claim taken ahead for that run, if any. */
  take(taskName: string, scheduledAtMs: number): Claim | undefined;
  giveBack(claim: Claim): void;
}

/**
 * Phase 1 of a large instant, done a few milliseconds ahead of it, so that
 * at the instant itself (ten thousand tasks on `0 * * * *`) there is little
 * left to do but call back. Planning computes each on-time, idle entry's
 * following occurrence and allocates its run without changing the task; at
 * the instant, each run is checked against what happened meanwhile (paused,
 * removed, rescheduled, a triggered run in flight, late past its grace)
 * before it counts as started. Entries of any other kind stay queued for the
 * ordinary phase 1. On a store that claims ahead, each run takes the claim
 * taken ahead for it, so that the instant asks the store nothing; a run that
 * does not start gives its claim back.
 */
export class AheadPlanner {
  readonly #host: AheadPlannerHost;
  #atMs = Number.NaN;
  #runs: PlannedRun[] | null = null;
  /**
   * Every planned run is on time (see `onTime`) up to the earliest end of
   * their grace periods and before the earliest of their following runs.
   */
  #graceEndMs = Number.NaN;
  #followingMs = Number.NaN;
  /**
   * Runs admitted at the instant whose task's next run is not queued yet (see
   * {@link requeue}): the first `#admittedCount` of `#admitted` (the array
   * `admitDue` returned, which the engine extends), and the tasks in `#requeue`.
   */
  #admitted: readonly PlannedRun[] = NO_RUNS;
  #admittedCount = 0;
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
   * planned already; otherwise 20 ms plus 10 µs per due entry (at most 5 s),
   * so that planning, and the compiling and collecting it sets off, is over
   * before the instant: on a busy two-core machine, cold code plans 10,000
   * entries in 20 to 30 ms, several times what it takes once warm.
   */
  leadMs(dueMs: number): number {
    const queue = this.#host.queue;
    if (this.#runs !== null || queue.peekKey() !== dueMs) return 0;
    const count = queue.peekCount();
    return count < PLAN_AHEAD_MIN_RUNS ? 0 : Math.min(5000, 20 + Math.ceil(count / 100));
  }

  /** Plans the earliest instant, if it is `dueMs` and nothing is planned yet. */
  plan(dueMs: number): void {
    const queue = this.#host.queue;
    if (this.#runs !== null || queue.peekKey() !== dueMs) return;
    const due = queue.takeDue(dueMs) as (Task | PendingRetry)[];
    const { claimsAhead } = this.#host;
    const runs: PlannedRun[] = [];
    const report = emptyReport();
    // Bounds within which every planned run is on time (checked once at the instant).
    let graceEndMs = Number.POSITIVE_INFINITY;
    let followingMs = Number.POSITIVE_INFINITY;
    for (const item of due) {
      // The same test as at the instant, which thus finds it warm.
      if (item instanceof PendingRetry || !item.readyFor(dueMs)) {
        queue.push(item, dueMs);
        continue;
      }
      const claim = claimsAhead?.take(item.name, dueMs);
      const run = new PlannedRun(item, dueMs, 1, "schedule", claim ?? null, report);
      if (claim !== undefined) run.claimed = true;
      const { options } = item;
      const following = item.schedule.next(dueMs);
      run.followingMs = following;
      run.nextMs = beforeEnd(options, following) ?? Number.NaN;
      // A burst calls the runs that have a ctx: made now, for functions (a handler
      // name is looked up now) without a timeout.
      const callback =
        typeof item.callback === "string" ? this.#host.handler(item.callback) : item.callback;
      if (typeof callback === "function" && options.timeoutMs === 0) {
        run.callback = callback;
        run.context = new RunContext(run);
      }
      graceEndMs = Math.min(graceEndMs, dueMs + graceMs(options));
      if (following !== null) followingMs = Math.min(followingMs, following);
      runs.push(run);
    }
    this.#atMs = dueMs;
    this.#graceEndMs = graceEndMs;
    this.#followingMs = followingMs;
    this.#runs = runs;
  }

  /** Puts the planned runs' tasks back in the queue (the timer stopped before their instant). */
  cancel(): void {
    const runs = this.#take();
    for (const run of runs) {
      this.#giveBackClaim(run);
      if (stillPlanned(run)) this.#host.queue.push(run.task, run.scheduledAtMs);
    }
  }

  /** A planned run that will not start as planned gives back the claim it took, for whoever claims the run next. */
  #giveBackClaim(run: PlannedRun): void {
    const { claim } = run;
    if (claim === null) return;
    run.claim = null;
    run.claimed = false;
    this.#host.claimsAhead?.giveBack(claim);
  }

  /** Appends the tasks of runs planned after `afterMs` and by `untilMs` (what may be claimed ahead). */
  dueBy(untilMs: number, out: Task[], afterMs = Number.NEGATIVE_INFINITY): void {
    if (this.#runs === null || this.#atMs > untilMs || this.#atMs <= afterMs) return;
    for (const run of this.#runs) if (stillPlanned(run)) out.push(run.task);
  }

  /**
   * At or after the planned instant: the rest of phase 1 for each run still
   * valid; returns those that start now. A task changed meanwhile is left
   * alone (removed or paused: no run; rescheduled: the queue has it); one
   * found late past its grace period goes back to the queue, for the misfire
   * policy.
   */
  admitDue(nowMs: number, report: RunReport): PlannedRun[] {
    if (this.#runs === null || this.#atMs > nowMs) return [];
    const runs = this.#take();
    const allOnTime = nowMs <= this.#graceEndMs && nowMs < this.#followingMs;
    let changed: PlannedRun[] | null = null;
    let admitted = 0;
    // Indexed, and one call per run: at a cold instant this loop runs in the
    // interpreter, where every iterator step and property access costs.
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i] as PlannedRun;
      // Its next run, if any, is queued once the callbacks have been called (requeue).
      if (allOnTime && run.task.startPlanned(run.scheduledAtMs, run.nextMs, nowMs)) {
        run.report = report;
        runs[admitted++] = run;
      } else {
        (changed ??= []).push(run);
      }
    }
    runs.length = admitted;
    this.#admitted = runs;
    this.#admittedCount = admitted;
    if (changed !== null) for (const run of changed) this.#admitChanged(run, nowMs, report, runs);
    return runs;
  }

  /** {@link admitDue} for a run whose task changed since planning, or that is late. */
  #admitChanged(run: PlannedRun, nowMs: number, report: RunReport, planned: PlannedRun[]): void {
    const { task, scheduledAtMs, followingMs } = run;
    const { options } = task;
    this.#giveBackClaim(run);
    const ready = task.readyFor(scheduledAtMs);
    if (!ready && !stillPlanned(run)) return;
    if (!onTime(options, scheduledAtMs, followingMs, nowMs)) {
      this.#host.queue.push(task, scheduledAtMs);
      return;
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

  /**
   * Queues the next run of each task admitted by {@link admitDue}, unless a
   * callback moved the task meanwhile (removed, paused, rescheduled). Called
   * once the instant's callbacks have started, which is all that is late.
   */
  requeue(): void {
    const runs = this.#admitted;
    const count = this.#admittedCount;
    this.#admitted = NO_RUNS;
    this.#admittedCount = 0;
    for (let i = 0; i < count; i++) {
      const run = runs[i] as PlannedRun;
      if (run.task.nextRunMs === run.nextMs) this.#queueNext(run.task);
    }
    const tasks = this.#requeue;
    if (tasks.length === 0) return;
    this.#requeue = [];
    for (const task of tasks) this.#queueNext(task);
  }

  /** Queues the task's next run (its `nextRunMs`), unless it was removed, paused or queued meanwhile. */
  #queueNext(task: Task): void {
    if (!task.removed && task.state === "active" && task.queueBucket === null)
      this.#host.reschedule(task, task.nextRunMs);
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
