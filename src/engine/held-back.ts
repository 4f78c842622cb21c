import type { DueQueue } from "../core/due-queue.js";
import { MISSED_LIST_LIMIT, planDueRuns } from "../core/misfire.js";
import { beforeEnd } from "../core/task-window.js";
import type { Task } from "../core/task.js";
import { jitter } from "./due-rules.js";
import type { Run } from "./run.js";
import type { MissedOccurrences } from "./run-recorder.js";

/** What holding tasks back needs from the engine. */
export interface HeldBackHost {
  readonly queue: DueQueue<Task | Run>;
  /** Something is due at `dueMs` (the timer loop). */
  poke(dueMs: number): void;
  /** Records occurrences as missed (`RunLifecycle.missed`). */
  missed(task: Task, missed: MissedOccurrences): void;
}

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
  readonly #host: HeldBackHost;
  /** Per task held back, the first occurrence it held back. */
  readonly #held = new Map<Task, number>();
  /** Tasks taken again, at which occurrence: the gap found there is told why. */
  readonly #released = new Map<Task, number>();

  /**
   * Tasks holding occurrences back now: a field, not a getter, since every
   * run of a burst reads it (RunLifecycle.claimed), in the interpreter when cold.
   */
  size = 0;

  constructor(host: HeldBackHost) {
    this.#host = host;
  }

  /**
   * Holds back the task's due occurrence (`task.nextRunMs`), taken from the
   * queue at `nowMs`: the task is queued again at its next occurrence after
   * `nowMs`; with none left, it waits out of the queue (not completed).
   */
  hold(task: Task, nowMs: number): void {
    if (!this.#held.has(task)) {
      this.#held.set(task, task.nextRunMs);
      this.size = this.#held.size;
    }
    this.#queueAfter(task, nowMs);
  }

  /** Queues the task at its next occurrence after `nowMs` (within its window); false when it has none. */
  #queueAfter(task: Task, nowMs: number): boolean {
    const { options } = task;
    const nextMs = beforeEnd(options, task.schedule.next(nowMs));
    if (nextMs === null) return false;
    task.nextRunMs = nextMs;
    this.#host.queue.push(task, nextMs + jitter(options));
    return true;
  }

  /**
   * Nothing of the task waits for the store any longer: if it held
   * occurrences back (and is still active), it is queued again, due now, at
   * the first of them.
   */
  release(task: Task): void {
    const fromMs = this.#forget(task);
    if (fromMs === undefined || task.state !== "active" || task.removed) return;
    this.#released.set(task, fromMs);
    this.#host.queue.remove(task);
    this.#queueAt(task, fromMs);
  }

  /**
   * Takes the task again from its first occurrence at or after `fromMs`, if
   * that is before its next one and it waits in the queue: the nodes that
   * would have taken its runs over meanwhile all left at once (see
   * `RendezvousShare.lostItsThree`). Phase 1's misfire policy then records
   * the gap, refused where those nodes had claimed an occurrence, so that
   * none is left without a row.
   */
  rewind(task: Task, fromMs: number): void {
    if (task.state !== "active" || task.removed) return;
    const firstMs = task.schedule.next(fromMs - 1);
    if (firstMs === null || !(firstMs < task.nextRunMs)) return;
    if (this.#host.queue.remove(task)) this.#queueAt(task, firstMs);
  }

  /** Queues the task (out of the queue) due at `atMs`, an occurrence already due: no jitter. */
  #queueAt(task: Task, atMs: number): void {
    task.nextRunMs = atMs;
    this.#host.queue.push(task, atMs);
    this.#host.poke(atMs);
  }

  /** Forgets what the task held back (it runs no more here); returns its first held-back occurrence. */
  #forget(task: Task): number | undefined {
    if (this.#held.size === 0) return undefined;
    const fromMs = this.#held.get(task);
    if (fromMs === undefined) return undefined;
    this.#held.delete(task);
    this.size = this.#held.size;
    return fromMs;
  }

  /** The task will not be taken again here (other nodes ran its last runs): nothing to record. */
  forget(task: Task): void {
    this.#forget(task);
    this.#released.delete(task);
  }

  /** True (once) when the task was just taken again from `firstMs`: its gap was held back. */
  releasedAt(task: Task, firstMs: number): boolean {
    if (this.#released.size === 0 || this.#released.get(task) !== firstMs) return false;
    this.#released.delete(task);
    return true;
  }

  /**
   * The task leaves the queue (paused, removed) while holding occurrences
   * back: they are recorded missed through `nowMs`, so that none is left
   * without a row.
   */
  drop(task: Task, nowMs: number): void {
    this.#released.delete(task);
    const fromMs = this.#forget(task);
    if (fromMs !== undefined) this.#recordMissed(task, fromMs, nowMs);
  }

  /**
   * The scheduler stops: what tasks hold back, or were queued again for and
   * not yet taken, is recorded missed through `nowMs` (a process that exits
   * now would leave it without a row, and no other node claims it), and each
   * such task moves on to its next occurrence after `nowMs`.
   */
  stop(nowMs: number): void {
    const pending = [...this.#held];
    for (const [task, fromMs] of this.#released)
      if (task.nextRunMs === fromMs && task.queueBucket !== null) pending.push([task, fromMs]);
    this.#held.clear();
    this.#released.clear();
    this.size = 0;
    for (const [task, fromMs] of pending) {
      if (task.state !== "active" || task.removed) continue;
      this.#recordMissed(task, fromMs, nowMs);
      this.#host.queue.remove(task);
      if (!this.#queueAfter(task, nowMs)) task.nextRunMs = Number.NaN;
    }
  }

  /** Records the task's occurrences from `fromMs` through `nowMs` missed, held back. */
  #recordMissed(task: Task, fromMs: number, nowMs: number): void {
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
    if (plan.missedCount === 0) return;
    this.#host.missed(task, {
      listed: plan.missed,
      firstMs: plan.missed[0] ?? fromMs,
      lastMs: plan.missedThroughMs,
      count: plan.missedCount,
      reason: HELD_BACK,
    });
  }
}
