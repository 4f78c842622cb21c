/**
 * The suite's workload: a hundred tasks on `* * * * * *` (a run of each every
 * second), with handlers from 50 ms to 2 s, every overlap policy, a third of
 * them with retries. Everything about a run is decided by its (task, slot),
 * so that every node, and the checker, agree on it.
 */
import type { OverlapPolicy } from "../src/core/overlap.js";
import type { TaskOptions } from "../src/core/task.js";

/** The handler every workload task names (defined by chaos/node.ts). */
export const WORK_HANDLER = "chaos-work";

/** What the handler of a task is told (its payload). */
export interface WorkPayload {
  /** How long the handler works, in ms (it honours `ctx.signal` meanwhile). */
  readonly ms: number;
  /**
   * Which attempts fail: `retry` tasks fail attempt 1 on a third of the slots,
   * attempt 2 on a ninth, attempt 3 on a 27th; `plain` tasks fail a tenth of
   * their slots.
   */
  readonly failures: "retry" | "plain";
  /**
   * What the side-effect sink fences on: the task (overlap `skip`: one run of
   * the task at a time, so each write must be newer than the last) or the
   * slot (`queue`/`allow`: runs of one task may overlap, only attempts of one
   * slot must not).
   */
  readonly fence: "task" | "slot";
}

/** One task of the workload. */
export interface WorkTask {
  readonly name: string;
  readonly schedule: string;
  readonly overlap: OverlapPolicy;
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly payload: WorkPayload;
}

/** The active window of every task: slots are the whole seconds strictly between the bounds. */
export interface ActiveWindow {
  /** `startAt` of every task (a half second, so no slot sits on a bound). */
  readonly startAtMs: number;
  /** `endAt` of every task. */
  readonly endAtMs: number;
}

const SKIP_MS = [50, 120, 300, 600, 900, 1500, 2000, 300];
const QUEUE_MS = [50, 120, 300, 600];
const ALLOW_MS = [50, 120, 300, 600, 900, 1500, 2000, 300];

/** Retry policy of `retry` tasks: quick, so that a slot's story ends within seconds. */
export const RETRY_POLICY = Object.freeze({ attempts: 2, backoffMs: 200, factor: 1 });

/**
 * The workload of `count` tasks (100 by default): 40% `skip`, 20% `queue`,
 * 40% `allow`; every third task retries twice.
 */
export function buildWorkload(count = 100): WorkTask[] {
  const tasks: WorkTask[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    const overlap: OverlapPolicy = kind < 2 ? "skip" : kind === 2 ? "queue" : "allow";
    const durations = overlap === "skip" ? SKIP_MS : overlap === "queue" ? QUEUE_MS : ALLOW_MS;
    const ms = durations[Math.floor(i / 5) % durations.length] as number;
    const retries = i % 3 === 0 ? RETRY_POLICY.attempts : 0;
    const name = `c${String(i).padStart(3, "0")}-${overlap}-${ms}${retries > 0 ? "-r" : ""}`;
    tasks.push({
      name,
      schedule: "* * * * * *",
      overlap,
      retries,
      payload: {
        ms,
        failures: retries > 0 ? "retry" : "plain",
        fence: overlap === "skip" ? "task" : "slot",
      },
    });
  }
  return tasks;
}

/** The registration options of a workload task in `window`. */
export function taskOptions(task: WorkTask, window: ActiveWindow): TaskOptions<WorkPayload> {
  return {
    overlap: task.overlap,
    retries: task.retries > 0 ? { ...RETRY_POLICY } : 0,
    startAt: window.startAtMs,
    endAt: window.endAtMs,
    payload: task.payload,
  };
}

/** The slots (scheduled instants, epoch ms) of a `* * * * * *` task in `window`. */
export function slotsOf(window: ActiveWindow): number[] {
  const slots: number[] = [];
  for (let s = Math.ceil(window.startAtMs / 1000) * 1000; s <= window.endAtMs; s += 1000) {
    if (s > window.startAtMs && s < window.endAtMs) slots.push(s);
  }
  return slots;
}

/** A stable hash of (task, slot) in [0, 2^32). */
export function slotHash(task: string, slotMs: number): number {
  let h = 2166136261;
  const text = `${task}@${slotMs}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** True when the handler's `attempt` of (task, slot) is planned to fail. */
export function plannedFailure(
  payload: WorkPayload,
  task: string,
  slotMs: number,
  attempt: number,
): boolean {
  const h = slotHash(task, slotMs);
  if (payload.failures === "plain") return h % 10 === 0;
  return h % 3 ** attempt === 0;
}
