/**
 * The SQLite store's task row writes, each one statement inside the caller's
 * write (the store's `#writeOne`), stamped with the store's clock.
 */
import { DuplicateTaskError } from "../../errors.js";
import type { StoredCallback, TaskProgress, TaskRecord } from "../store.js";
import type { Connection } from "./connection.js";
import { callbackParams, taskParams } from "./rows.js";

/** Inserts the task, or replaces it when `replace`; an existing name is a DuplicateTaskError otherwise. */
export function putTaskRow(
  c: Connection,
  record: TaskRecord,
  replace: boolean,
  nowMs: number,
): void {
  const params = taskParams(record, nowMs);
  if (replace) {
    c.statements.upsertTask.run(params);
  } else if (c.statements.insertTask.run(params).changes === 0) {
    throw new DuplicateTaskError(record.name);
  }
}

/** Writes the task's progress; false when there is no such task. */
export function updateProgressRow(
  c: Connection,
  name: string,
  progress: TaskProgress,
  nowMs: number,
): boolean {
  const result = c.statements.updateTaskProgress.run({
    name,
    state: progress.state,
    nextRunAt: progress.nextRunAt,
    lastRunAt: progress.lastRunAt,
    lastStatus: progress.lastStatus,
    runCount: progress.runCount,
    updatedAt: nowMs,
  });
  return result.changes > 0;
}

/** Replaces the task's stored callback; false when there is no such task. */
export function updateCallbackRow(
  c: Connection,
  name: string,
  callback: StoredCallback,
  nowMs: number,
): boolean {
  const result = c.statements.updateTaskCallback.run({
    name,
    ...callbackParams(callback),
    updatedAt: nowMs,
  });
  return result.changes > 0;
}
