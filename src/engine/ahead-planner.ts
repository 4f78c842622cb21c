import type { DueQueue } from "../core/due-queue.js";
import { RunContext } from "../core/run-context.js";
import { beforeEnd } from "../core/task-window.js";
import type { Task, TaskCallback } from "../core/task.js";
import type { Claim } from "../store/store.js";
import { graceMs } from "./due-rules.js";
import { emptyReport, Run, type RunReport } from "./run.js";
import type { RunLifecycle } from "./run-lifecycle.js";

const NO_RUNS: readonly Run[] = Object.freeze([]);

/** Instants with fewer due entries are not planned ahead in `auto` mode: their phase 1 is quick anyway. */
export const PLAN_AHEAD_MIN_RUNS = 64;

/**
 * When instants are planned ahead: `auto`, those of at least
 * {@link PLAN_AHEAD_MIN_RUNS} due entries; `always`, every one (the tests
 * of the scheduler's behaviour run in this mode and in `off`); `off`, none.
 */
export type PlanAheadMode = "auto" | "always" | "off";

/** What the planner needs from the engine. */
export interface AheadPlannerHost {
  readonly mode: PlanAheadMode;
  readonly queue: DueQueue<Task | Run>;
  readonly life: RunLifecycle;
  /**
   * Phase 1's ordinary rules for a task taken out of the queue for its next
   * run: what the planner does with every planned run that is not simply on
   * time and ready at its instant.
   */
  collect(task: Task, nowMs: number, report: RunReport, planned: Run[]): void;
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
  /** Holds again, for a later run or to give back unused, a claim {@link take} gave out. */
  hold(claim: Claim): void;
}

/**
 * Phase 1 of a large instant, prepared a few milliseconds ahead of it, so
 * that at the instant itself (ten thousand tasks on `0 * * * *`) there is
 * little left to do but call back. The one seam of this optimisation
 * (docs/internals.md): planning takes the instant's tasks out of the queue,
 * computes each one's following occurrence and allocates its run (taking the
 * claim taken ahead for it, on a store that claims ahead), counting nothing.
 * At the instant, a run whose task is still on time and ready (not moved,
 * idle, under `maxRuns`: the fast path of phase 1) is admitted as planned;
 * every other one gives its claim back and goes through phase 1's ordinary
 * rules, exactly as if it had just been taken from the queue. So the rules
 * exist once, and `mode: "off"` changes timing, never outcomes.
 */
export class AheadPlanner {
  readonly #host: AheadPlannerHost;
  readonly #minRuns: number;
  #atMs = Number.NaN;
  #runs: Run[] | null = null;
  /**
   * Every planned run is on time (see `onTime`) up to the earliest end of
   * their grace periods and before the earliest of their following runs.
   */
  #graceEndMs = Number.NaN;
  #followingMs = Number.NaN;
  /**
   * Runs admitted at the instant whose task's next run is not queued yet (see
   * {@link requeue}): the first `#admittedCount` of `#admitted` (the array
   * `admitDue` returned, which the engine extends).
   */
  #admitted: readonly Run[] = NO_RUNS;
  #admittedCount = 0;

  constructor(host: AheadPlannerHost) {
    this.#host = host;
    this.#minRuns =
      host.mode === "off"
        ? Number.POSITIVE_INFINITY
        : host.mode === "always"
          ? 1
          : PLAN_AHEAD_MIN_RUNS;
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
   * How long before `dueMs` to plan it: 0 when too little is due then or it
   * is planned already; otherwise 20 ms plus 10 µs per due entry (at most
   * 5 s), so that planning, and the compiling and collecting it sets off, is
   * over before the instant: on a busy two-core machine, cold code plans
   * 10,000 entries in 20 to 30 ms, several times what it takes once warm.
   */
  planLeadMs(dueMs: number): number {
    const queue = this.#host.queue;
    if (this.#runs !== null || queue.peekKey() !== dueMs) return 0;
    const count = queue.peekCount();
    return count < this.#minRuns ? 0 : Math.min(5000, 20 + Math.ceil(count / 100));
  }

  /** Plans the earliest instant, if it is `dueMs` and nothing is planned yet. */
  plan(dueMs: number): void {
    const { queue, life, claimsAhead } = this.#host;
    if (this.#runs !== null || queue.peekKey() !== dueMs || this.#minRuns === Infinity) return;
    const due = queue.takeDue(dueMs) as (Task | Run)[];
    const runs: Run[] = [];
    const report = emptyReport();
    // Bounds within which every planned run is on time (checked once at the instant).
    let graceEndMs = Number.POSITIVE_INFINITY;
    let followingMs = Number.POSITIVE_INFINITY;
    for (const item of due) {
      // The same test as at the instant, which thus finds it warm.
      if (item instanceof Run || !item.readyFor(dueMs)) {
        queue.push(item, dueMs);
        continue;
      }
      const run = life.plan(item, dueMs, claimsAhead?.take(item.name, dueMs) ?? null, report);
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
    for (const run of this.#take()) {
      this.#giveBack(run);
      if (stillPlanned(run)) this.#host.queue.push(run.task, run.scheduledAtMs);
    }
  }

  /** Appends the tasks of runs planned after `afterMs` and by `untilMs` (what may be claimed ahead). */
  dueBy(untilMs: number, out: Task[], afterMs = Number.NEGATIVE_INFINITY): void {
    if (this.#runs === null || this.#atMs > untilMs || this.#atMs <= afterMs) return;
    // A planned run holding a claim taken ahead needs none.
    for (const run of this.#runs) if (run.claim === null && stillPlanned(run)) out.push(run.task);
  }

  /**
   * At or after the planned instant: admits each run still on time and ready
   * and returns them (the engine appends the rest of phase 1 to the same
   * array). Any other run gives its claim back; its task, unless it moved
   * since planning (removed, paused, rescheduled: nothing to do), goes
   * through phase 1's ordinary rules.
   */
  admitDue(nowMs: number, report: RunReport): Run[] {
    if (this.#runs === null || this.#atMs > nowMs) return [];
    const runs = this.#take();
    const life = this.#host.life;
    const allOnTime = nowMs <= this.#graceEndMs && nowMs < this.#followingMs;
    let changed: Run[] | null = null;
    let admitted = 0;
    // Indexed, and one call per run: at a cold instant this loop runs in the
    // interpreter, where every iterator step and property access costs.
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i] as Run;
      // Its next run, if any, is queued once the callbacks have been called (requeue).
      if (allOnTime && life.admitPlanned(run, nowMs, report)) runs[admitted++] = run;
      else (changed ??= []).push(run);
    }
    runs.length = admitted;
    this.#admitted = runs;
    this.#admittedCount = admitted;
    if (changed !== null) {
      for (const run of changed) {
        this.#giveBack(run);
        if (stillPlanned(run)) this.#host.collect(run.task, nowMs, report, runs);
      }
    }
    return runs;
  }

  /**
   * Queues the next run of each task admitted as planned by {@link admitDue},
   * unless a callback moved the task meanwhile (removed, paused,
   * rescheduled). Called once the instant's callbacks have started, which is
   * all that is late.
   */
  requeue(): void {
    const runs = this.#admitted;
    const count = this.#admittedCount;
    this.#admitted = NO_RUNS;
    this.#admittedCount = 0;
    for (let i = 0; i < count; i++) {
      const { task, nextMs } = runs[i] as Run;
      if (
        task.nextRunMs === nextMs &&
        !task.removed &&
        task.state === "active" &&
        task.queueBucket === null
      ) {
        this.#host.reschedule(task, nextMs);
      }
    }
  }

  /** A planned run that does not start as planned gives back the claim it took, for whoever claims the run next. */
  #giveBack(run: Run): void {
    const claim = this.#host.life.giveBack(run);
    if (claim !== null) this.#host.claimsAhead?.hold(claim);
  }

  #take(): Run[] {
    const runs = this.#runs ?? [];
    this.#runs = null;
    this.#atMs = Number.NaN;
    return runs;
  }
}

/** True when nothing moved the run's task since the run was planned. */
function stillPlanned(run: Run): boolean {
  return run.task.takenFor(run.scheduledAtMs);
}
