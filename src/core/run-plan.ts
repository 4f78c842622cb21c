import type { DstChange } from "../cron/index.js";
import { InvalidArgumentError } from "../errors.js";
import { CronSchedule, type Schedule } from "./schedule.js";
import type { Task, TaskState } from "./task.js";

/** A task as the planner sees it: its schedule and what limits its runs. */
export interface PlanTask {
  readonly name: string;
  readonly schedule: Schedule;
  /** Only active tasks plan runs; the others are listed with none. @defaultValue "active" */
  readonly state?: TaskState;
  /** No run before this instant (epoch ms). */
  readonly startAtMs?: number;
  /** No run after this instant (epoch ms). */
  readonly endAtMs?: number;
  /** How many runs `maxRuns` still allows. @defaultValue unlimited */
  readonly runsLeft?: number;
}

/** A registered task's part of a plan: its schedule, state, window and the runs `maxRuns` leaves. */
export function planTaskOf(task: Task): PlanTask {
  return {
    name: task.name,
    schedule: task.schedule,
    state: task.state,
    startAtMs: task.options.startAtMs,
    endAtMs: task.options.endAtMs,
    runsLeft: Math.max(0, task.options.maxRuns - task.started),
  };
}

/** Options of {@link planRuns}. */
export interface PlanOptions {
  /** The window's start, epoch ms (included). */
  readonly fromMs: number;
  /** The window's end, epoch ms (excluded). */
  readonly toMs: number;
  /** The most runs listed in all. */
  readonly limit: number;
  /** The most runs listed per task. @defaultValue limit */
  readonly perTaskLimit?: number;
}

/**
 * How daylight saving touched a planned run (cron tasks only):
 * - `shifted`: its local time fell in a spring-forward gap; it runs right after the jump;
 * - `first-pass`: its local time repeats in a fall-back; this is the first time
 *   (with `dst.overlap: "first"` the only one);
 * - `second-pass`: the repeat of a local time in a fall-back (`dst.overlap: "both"`).
 */
export type DstMark = "shifted" | "first-pass" | "second-pass";

/** One planned run. */
export interface PlannedRun {
  readonly taskName: string;
  readonly atMs: number;
  readonly dst: DstMark | null;
}

/** A daylight-saving change of a task's zone in the window, and what it does to the task's runs. */
export interface PlannedDstChange extends DstChange {
  readonly taskName: string;
  readonly timezone: string;
}

/** One task's part of the plan. */
export interface TaskPlan {
  readonly name: string;
  readonly kind: Schedule["kind"];
  readonly schedule: string;
  readonly timezone: string | null;
  readonly state: TaskState;
  /** How many runs the task has in the window. */
  readonly count: number;
  /** How many of them `runs` lists. */
  readonly listed: number;
}

/** What {@link planRuns} answers. */
export interface RunPlan {
  readonly fromMs: number;
  readonly toMs: number;
  /** In order of time, then task name. */
  readonly runs: readonly PlannedRun[];
  readonly tasks: readonly TaskPlan[];
  /** Changes that move, drop or repeat a run of a task in the window, in order. */
  readonly dstChanges: readonly PlannedDstChange[];
  /** True when some run in the window is not listed (see `limit`, `perTaskLimit`, `TaskPlan.listed`). */
  readonly truncated: boolean;
}

/** The span around a change whose runs it can mark (a fall-back repeats up to 3 hours). */
const DST_REACH_MS = 3 * 3_600_000;

function byTimeThenName(a: PlannedRun, b: PlannedRun): number {
  return a.atMs - b.atMs || (a.taskName < b.taskName ? -1 : a.taskName > b.taskName ? 1 : 0);
}

/** The mark of a run at `atMs` given its zone's changes around it. */
function markOf(atMs: number, changes: readonly DstChange[]): DstMark | null {
  for (const change of changes) {
    if (change.effect === "none") continue;
    if (change.kind === "gap") {
      if (change.effect === "shifted" && atMs === change.atMs) return "shifted";
      continue;
    }
    const span = change.localToMs - change.localFromMs;
    if (atMs >= change.atMs - span && atMs < change.atMs) return "first-pass";
    if (change.effect === "twice" && atMs >= change.atMs && atMs < change.atMs + span) {
      return "second-pass";
    }
  }
  return null;
}

/** True when the change touches a run in [fromMs, toMs). */
function touchesWindow(change: DstChange, fromMs: number, toMs: number): boolean {
  if (change.effect === "none") return false;
  const span = change.localToMs - change.localFromMs;
  const lo = change.kind === "gap" ? change.atMs : change.atMs - span;
  const hi = change.kind === "gap" ? change.atMs + 1 : change.atMs + span;
  return lo < toMs && hi > fromMs;
}

function checkPlanOptions(options: PlanOptions): void {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(
      "options",
      "an object { fromMs, toMs, limit, perTaskLimit? }",
      options,
    );
  }
  for (const key of ["fromMs", "toMs"] as const) {
    if (typeof options[key] !== "number" || !Number.isFinite(options[key])) {
      throw new InvalidArgumentError(`options.${key}`, "a finite number of epoch ms", options[key]);
    }
  }
  if (options.toMs < options.fromMs) {
    throw new InvalidArgumentError(
      "options.toMs",
      `a number not below fromMs (${options.fromMs})`,
      options.toMs,
    );
  }
  for (const key of ["limit", "perTaskLimit"] as const) {
    const value = options[key];
    if (key === "perTaskLimit" && value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new InvalidArgumentError(`options.${key}`, "a whole number from 1 up", value);
    }
  }
}

/**
 * The runs a set of tasks would make in [fromMs, toMs), in order, each marked
 * when daylight saving moved or repeated it, with the changes that move, drop
 * or repeat runs. Pure: it reads the schedules and changes nothing. Bounded:
 * at most `limit` runs in all and `perTaskLimit` per task are listed (and
 * about three times `limit` held while merging), so a task that runs every
 * second cannot flood the answer; `truncated` and each task's `count` say
 * what was left out. Jitter is not applied: runs are listed at their instant.
 */
export function planRuns(tasks: Iterable<PlanTask>, options: PlanOptions): RunPlan {
  checkPlanOptions(options);
  const { fromMs, toMs, limit } = options;
  const perTask = Math.min(options.perTaskLimit ?? limit, limit);
  let runs: PlannedRun[] = [];
  const plans: { plan: Omit<TaskPlan, "listed">; listed: number }[] = [];
  const dstChanges: PlannedDstChange[] = [];
  // Once `limit` runs at or before it are known, nothing after `cutoff` can be listed.
  let cutoff = toMs - 1;
  let total = 0;
  for (const task of tasks) {
    const state = task.state ?? "active";
    const lo = Math.max(fromMs, task.startAtMs ?? fromMs);
    const hi = Math.min(toMs - 1, task.endAtMs ?? toMs - 1);
    const schedule = task.schedule;
    let count = 0;
    if (state === "active" && lo <= hi) {
      count = Math.min(schedule.countBetween(lo - 1, hi), task.runsLeft ?? Infinity);
      const listed = schedule.listBetween(lo - 1, Math.min(hi, cutoff), Math.min(perTask, count));
      let changes: DstChange[] = [];
      if (schedule instanceof CronSchedule && count > 0) {
        changes = schedule.cron
          .dstChangesBetweenMs(lo - DST_REACH_MS, hi + DST_REACH_MS)
          .filter((change) => touchesWindow(change, lo, hi + 1));
        for (const change of changes) {
          dstChanges.push({ ...change, taskName: task.name, timezone: schedule.timezone });
        }
      }
      for (const atMs of listed) {
        runs.push({
          taskName: task.name,
          atMs,
          dst: changes.length ? markOf(atMs, changes) : null,
        });
      }
      if (runs.length > 2 * limit) {
        runs.sort(byTimeThenName);
        runs.length = limit;
        cutoff = runs[limit - 1]!.atMs;
      }
    }
    total += count;
    plans.push({
      plan: {
        name: task.name,
        kind: schedule.kind,
        schedule: schedule.source,
        timezone: schedule.timezone,
        state,
        count,
      },
      listed: 0,
    });
  }
  runs.sort(byTimeThenName);
  if (runs.length > limit) runs = runs.slice(0, limit);
  const listedBy = new Map<string, number>();
  for (const run of runs) listedBy.set(run.taskName, (listedBy.get(run.taskName) ?? 0) + 1);
  dstChanges.sort((a, b) => a.atMs - b.atMs || (a.taskName < b.taskName ? -1 : 1));
  return {
    fromMs,
    toMs,
    runs,
    tasks: plans.map(({ plan }) => ({ ...plan, listed: listedBy.get(plan.name) ?? 0 })),
    dstChanges,
    truncated: runs.length < total,
  };
}
