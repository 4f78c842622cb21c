/**
 * Per-task summaries of the SQLite history, computed when asked: one count by
 * status and one read of the newest rows per task, both on the
 * `(task_name, seq)` index, so the cost follows the task's own rows, never the
 * whole history. A file shared by a few daemons holds far fewer rows than a
 * cluster's PostgreSQL history, which keeps them in a table instead.
 */
import type Database from "better-sqlite3";
import type { RunStatus } from "../../core/task.js";
import { SUMMARY_DURATIONS, summarize, type TaskSummary } from "../task-summary.js";
import { runOf, type RunRow } from "./rows.js";

const COUNTS = `SELECT status, count(*) AS n FROM run_history WHERE task_name = ? GROUP BY status`;
const NEWEST = `SELECT task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt,
  node_id, error, output, missed_through, missed_count
  FROM run_history WHERE task_name = ? ORDER BY seq DESC LIMIT ${SUMMARY_DURATIONS * 2}`;

/** The summaries of `names` (tasks with no row absent). */
export function sqliteTaskSummaries(
  db: Database.Database,
  names: readonly string[],
): Map<string, TaskSummary> {
  const counts = db.prepare(COUNTS);
  const newest = db.prepare(NEWEST);
  const found = new Map<string, TaskSummary>();
  for (const name of new Set(names)) {
    const byStatus: Partial<Record<RunStatus, number>> = {};
    for (const row of counts.all(name) as { status: RunStatus; n: number }[])
      byStatus[row.status] = row.n;
    if (Object.keys(byStatus).length === 0) continue;
    const rows = (newest.all(name) as RunRow[]).map(runOf);
    found.set(name, summarize(name, rows, byStatus));
  }
  return found;
}
