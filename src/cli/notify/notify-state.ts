import type { RunStatus } from "../../core/task.js";
import type { NotificationKind } from "../../store/notification-outbox.js";

/** A task as notifications see it: its last finished run succeeded, or failed. */
export type TaskHealth = "ok" | "failing";

/** Statuses that make a task `failing`; `succeeded` makes it `ok`; the rest change nothing. */
const FAILING: ReadonlySet<RunStatus> = new Set<RunStatus>(["failed", "timed-out", "interrupted"]);

/** The health a finished run's status gives, or undefined for one that says nothing (skipped, missed, cancelled, lost). */
export function healthOf(status: RunStatus): TaskHealth | undefined {
  if (status === "succeeded") return "ok";
  return FAILING.has(status) ? "failing" : undefined;
}

/**
 * The notification a change of health calls for: `failure` when an ok task
 * fails, `recovery` when a failing one succeeds again, none otherwise (one
 * message per change of state, not one per run). A task with no known past
 * counts as ok: its first failure is reported, its first success is not.
 */
export function healthChange(
  previous: TaskHealth | undefined,
  next: TaskHealth,
): Extract<NotificationKind, "failure" | "recovery"> | undefined {
  const before = previous ?? "ok";
  if (before === "ok" && next === "failing") return "failure";
  if (before === "failing" && next === "ok") return "recovery";
  return undefined;
}

/**
 * The state machine of each task's health (ok → failing sends `failure`
 * once; failing → ok sends `recovery`). The previous state is taken from the
 * store's history when the caller has it (in a cluster another node may have
 * run the task last), else from what this process saw.
 */
export class HealthTracker {
  readonly #health = new Map<string, TaskHealth>();

  /** What this process last saw of a task. */
  healthOf(taskName: string): TaskHealth | undefined {
    return this.#health.get(taskName);
  }

  /**
   * Records a finished run (its final attempt); returns the notification its
   * change of state calls for. `previous` overrides what this process saw.
   */
  finished(
    taskName: string,
    status: RunStatus,
    previous?: TaskHealth,
  ): ReturnType<typeof healthChange> {
    const next = healthOf(status);
    if (next === undefined) return undefined;
    const change = healthChange(previous ?? this.#health.get(taskName), next);
    this.#health.set(taskName, next);
    return change;
  }

  /** Forgets a task (removed from the schedule). */
  forget(taskName: string): void {
    this.#health.delete(taskName);
  }
}

/** Consecutive runs skipped by overlap that make a task `stuck`. */
export const STUCK_SKIPS = 3;

/** Schedules a callback; `setTimeout` in the daemon, a fake in tests. */
export type SetTimer = (fn: () => void, ms: number) => { clear(): void };

const realTimer: SetTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { clear: () => clearTimeout(timer) };
};

/** What {@link StuckWatch} reports. */
export interface StuckReport {
  readonly taskName: string;
  /** The change id: the stuck run's scheduled instant, or the first skipped one's. */
  readonly scheduledAt: Date;
  readonly reason: "running" | "skipped";
  /** `running`: the threshold passed (ms); `skipped`: runs skipped in a row. */
  readonly amount: number;
}

/**
 * Notices a stuck task: a run still going after its `stuckAfterMs`, or
 * {@link STUCK_SKIPS} due runs in a row skipped because the last is still
 * going. Each is reported once.
 */
export class StuckWatch {
  readonly #timers = new Map<string, { clear(): void }>();
  readonly #skips = new Map<string, { first: Date; count: number }>();
  readonly #report: (report: StuckReport) => void;
  readonly #setTimer: SetTimer;

  constructor(report: (report: StuckReport) => void, setTimer: SetTimer = realTimer) {
    this.#report = report;
    this.#setTimer = setTimer;
  }

  /** A run started; `stuckAfterMs` undefined watches only the skips. */
  started(taskName: string, scheduledAt: Date, stuckAfterMs: number | undefined): void {
    this.#skips.delete(taskName);
    if (stuckAfterMs === undefined) return;
    const key = `${taskName}\u0000${scheduledAt.getTime()}`;
    this.#timers.get(key)?.clear();
    this.#timers.set(
      key,
      this.#setTimer(() => {
        this.#timers.delete(key);
        this.#report({ taskName, scheduledAt, reason: "running", amount: stuckAfterMs });
      }, stuckAfterMs),
    );
  }

  /** A run finished (any attempt): its timer is cleared. */
  finished(taskName: string, scheduledAt: Date): void {
    const key = `${taskName}\u0000${scheduledAt.getTime()}`;
    this.#timers.get(key)?.clear();
    this.#timers.delete(key);
  }

  /** A due run was skipped because the task was still running. */
  skipped(taskName: string, scheduledAt: Date): void {
    const streak = this.#skips.get(taskName) ?? { first: scheduledAt, count: 0 };
    streak.count++;
    this.#skips.set(taskName, streak);
    if (streak.count === STUCK_SKIPS)
      this.#report({
        taskName,
        scheduledAt: streak.first,
        reason: "skipped",
        amount: streak.count,
      });
  }

  /** Clears every timer. */
  stop(): void {
    for (const timer of this.#timers.values()) timer.clear();
    this.#timers.clear();
    this.#skips.clear();
  }
}
