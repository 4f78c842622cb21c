/**
 * Per-task summaries of the run history (issue 17, item 4): what the task list,
 * the task page and `orchestrator list` show of a task's runs, read without
 * scanning the history. PostgreSQL keeps them in a table maintained by a
 * trigger on the history; the memory and SQLite stores compute them from
 * their history with {@link summarize}.
 */
import type { RunStatus } from "../core/task.js";
import type { RunRecord } from "./store.js";

/** How many durations a summary keeps (the dashboard's sparkline shows as many). */
export const SUMMARY_DURATIONS = 20;

/** A task's runs at a glance (see {@link Store.taskSummaries}). */
export interface TaskSummary {
  readonly taskName: string;
  /** The status of the task's newest history row, `lost` rows aside (informational, not an outcome); null before any. */
  readonly lastStatus: RunStatus | null;
  /** The scheduled instant of that row (epoch ms); null before any. */
  readonly lastRunAt: number | null;
  /**
   * History rows by status. PostgreSQL counts every row written since
   * migration 11, retention notwithstanding; the memory and SQLite stores count
   * the rows they still hold.
   */
  readonly counts: Readonly<Partial<Record<RunStatus, number>>>;
  /** Durations (ms) of the newest {@link SUMMARY_DURATIONS} rows with a start and an end, oldest first. */
  readonly recentDurationsMs: readonly number[];
}

/**
 * The summary of `name` from its newest rows (`newestFirst`, at least enough
 * to hold {@link SUMMARY_DURATIONS} durations and the last outcome) and its
 * counts by status.
 */
export function summarize(
  name: string,
  newestFirst: readonly RunRecord[],
  counts: Readonly<Partial<Record<RunStatus, number>>>,
): TaskSummary {
  const last = newestFirst.find((row) => row.status !== "lost");
  const durations: number[] = [];
  for (const row of newestFirst) {
    if (durations.length === SUMMARY_DURATIONS) break;
    if (row.startedAt !== null && row.finishedAt !== null)
      durations.push(row.finishedAt - row.startedAt);
  }
  return {
    taskName: name,
    lastStatus: last?.status ?? null,
    lastRunAt: last?.scheduledAt ?? null,
    counts,
    recentDurationsMs: durations.reverse(),
  };
}

/** Rows by status of `rows`. */
export function countByStatus(rows: Iterable<RunRecord>): Partial<Record<RunStatus, number>> {
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}
