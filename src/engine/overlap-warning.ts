import type { Task } from "../core/task.js";
import { safeLog, type Logger } from "../logger.js";

/** Overlap skips in a row of one task before it is warned about (then at each doubling). */
export const OVERLAP_WARN_AFTER = 3;

/**
 * One more due run of `task` skipped by its overlap policy since a run of it
 * last started (`elsewhere`: another node's run holds it; `RunLifecycle.started`
 * resets the count): a hung callback must not silence its task unseen. Warns
 * at the third in a row, then each time the count doubles (6, 12, 24…),
 * naming the task and when its running run started.
 */
export function noteOverlapSkip(task: Task, logger: Logger, elsewhere: boolean): void {
  const count = ++task.skippedInARow;
  if (count < OVERLAP_WARN_AFTER) return;
  const ratio = count / OVERLAP_WARN_AFTER;
  if (!Number.isInteger(ratio) || (ratio & (ratio - 1)) !== 0) return;
  const since = Number.isNaN(task.lastRunMs) ? null : new Date(task.lastRunMs).toISOString();
  const holder = elsewhere
    ? "a run of it on another node holds it"
    : `its run${since === null ? "" : ` started at ${since}`} is still running`;
  safeLog(
    logger,
    "warn",
    { taskName: task.name, skippedInARow: count, lastRunStartedAt: since },
    `Task ${JSON.stringify(task.name)} was skipped ${count} times in a row (overlap: ${task.options.overlap}): ${holder}`,
  );
}
