import type { Schedule } from "./schedule.js";
import type { ResolvedTaskOptions, Task } from "./task.js";

/** `ms` when the task may still run then (not past `endAt`), else null. */
export function beforeEnd(options: ResolvedTaskOptions, ms: number | null): number | null {
  return ms !== null && ms <= options.endAtMs ? ms : null;
}

/**
 * The first run of a task registered (or resumed, or joined from another
 * node) at `nowMs`, honouring `startAt` and `endAt`; null when it never runs.
 * A one-time task due exactly now still runs; other schedules start after now.
 */
export function firstRunOf(
  schedule: Schedule,
  options: ResolvedTaskOptions,
  nowMs: number,
): number | null {
  const first = schedule.next(
    schedule.kind === "once"
      ? Math.max(nowMs - 1, options.startAtMs - 1)
      : Math.max(nowMs, options.startAtMs - 1),
  );
  return beforeEnd(options, first);
}

/**
 * What the layers below the run engine (durable tasks, cluster sync) may ask
 * of it about a task's place in the schedule. The engine implements it and is
 * handed to them as this interface, so that they never import the engine.
 */
export interface TaskScheduling {
  /** Puts a task in the queue, due at `firstRunMs`. */
  schedule(task: Task, firstRunMs: number): void;
  /** Takes a removed or replaced task out for good. */
  detach(task: Task): void;
  /** Pauses a task: out of the queue; a run in flight finishes. */
  pause(task: Task): void;
  /** Resumes a paused task from now on. */
  resume(task: Task): void;
}
