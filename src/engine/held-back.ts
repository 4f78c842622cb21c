import { MISSED_LIST_LIMIT, planDueRuns } from "../core/misfire.js";
import type { Task } from "../core/task.js";
import type { MissedOccurrences } from "./run-recorder.js";

/** The reason on the missed row of occurrences held back by admission by task. */
export const HELD_BACK =
  "held back: the store had not yet answered the claim or the row of an earlier run of the task";

/**
 * Admission by task: while the store has not answered for a task (a run
 * waiting for its claim, a skipped or missed row not yet settled: see
 * `Task.awaitingStore`), phase 1 adds nothing behind it. Each occurrence
 * that falls due meanwhile only moves the task on to its next one, through
 * the queue as usual, so that it is seen (the store's health counts it not
 * started) and costs no memory. Once the store has answered, the task is
 * taken again from the first occurrence it held back, and phase 1's misfire
 * policy turns the gap into one missed range (and a catch-up run, per
 * policy). However far behind the store falls, a task holds at most one run
 * waiting for its claim and one row waiting to be written.
 */
export class HeldBackTasks {
  /** Per task held back, the first occurrence it held back. */
  readonly #held = new Map<Task, number>();
  /** Tasks taken again, at which occurrence: the gap found there is told why. */
  readonly #released = new Map<Task, number>();

  /**
   * Tasks holding occurrences back now: a field, not a getter, since every
   * run of a burst reads it (RunLifecycle.claimed), in the interpreter when cold.
   */
  size = 0;

  /**
   * Holds back the task's due occurrence (`task.nextRunMs`) at `nowMs`.
   * Returns its next occurrence after `nowMs`, or null when it has none.
   */
  hold(task: Task, nowMs: number): number | null {
    if (!this.#held.has(task)) {
      this.#held.set(task, task.nextRunMs);
      this.size = this.#held.size;
    }
    return task.schedule.next(nowMs);
  }

  /**
   * The store answered for the task: the first occurrence it held back, to
   * take it again from, or undefined when it held nothing back.
   */
  release(task: Task): number | undefined {
    if (this.#held.size === 0) return undefined;
    const fromMs = this.#held.get(task);
    if (fromMs === undefined) return undefined;
    this.#held.delete(task);
    this.size = this.#held.size;
    this.#released.set(task, fromMs);
    return fromMs;
  }

  /** True (once) when the task was just taken again from `firstMs`: its gap was held back. */
  releasedAt(task: Task, firstMs: number): boolean {
    if (this.#released.size === 0 || this.#released.get(task) !== firstMs) return false;
    this.#released.delete(task);
    return true;
  }

  /**
   * The task leaves the queue (paused, removed) while holding occurrences
   * back: returns them as missed through `nowMs`, to be recorded, so that
   * none is left without a row; null when it held none back.
   */
  drop(task: Task, nowMs: number): MissedOccurrences | null {
    this.#released.delete(task);
    const fromMs = this.#held.get(task);
    if (fromMs === undefined) return null;
    this.#held.delete(task);
    this.size = this.#held.size;
    const plan = planDueRuns({
      firstDueMs: fromMs,
      nowMs,
      policy: "skip",
      graceMs: -1,
      maxCatchUpRuns: 0,
      endMs: task.options.endAtMs,
      schedule: task.schedule,
      listLimit: MISSED_LIST_LIMIT,
    });
    if (plan.missedCount === 0) return null;
    return {
      listed: plan.missed,
      firstMs: plan.missed[0] ?? fromMs,
      lastMs: plan.missedThroughMs,
      count: plan.missedCount,
      reason: HELD_BACK,
    };
  }
}
