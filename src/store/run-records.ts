/** History rows: one attempt of a run, the finish of a batch, history reads and retention (part of the Store contract, re-exported by store.ts). */
import type { RunStatus } from "../core/task.js";
import type { Claim } from "./claims.js";
import type { TaskProgress } from "./task-records.js";

/** One attempt of one run (or a run that did not happen: skipped, missed, interrupted), as history keeps it. */
export interface RunRecord {
  readonly taskName: string;
  /** The claim the attempt ran under; null for skipped and missed runs, and on a store that needed no claims. */
  readonly claimId: string | null;
  readonly scheduledAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly status: RunStatus;
  /** 1-based. */
  readonly attempt: number;
  readonly nodeId: string;
  readonly error: {
    readonly message: string;
    readonly stack?: string;
    readonly code?: string;
  } | null;
  /**
   * A `missed` row that stands for consecutive missed occurrences: the last of
   * them (`scheduledAt` is the first), and how many there were.
   */
  readonly missedThrough?: number;
  readonly missedCount?: number;
  /**
   * What the attempt produced, as JSON: the callback's return value when it is
   * a plain JSON object, or the `details` of the error it threw (for example
   * `{ exitCode, stdout, stderr }` of a shell command). Capped at
   * {@link MAX_OUTPUT_BYTES} of JSON text; absent when there was none.
   */
  readonly output?: unknown;
}

/** The most JSON text of {@link RunRecord.output} a store keeps (larger outputs are truncated by the scheduler). */
export const MAX_OUTPUT_BYTES = 150 * 1024;

/**
 * One finish of {@link Store.finishRuns}: what {@link Store.finishRun} takes,
 * plus, optionally, the task's run-state columns after the run.
 */
export interface FinishRequest {
  readonly record: RunRecord;
  readonly claim: Claim;
  /** Release the claim with the row (false: an attempt with a retry to come). */
  readonly release: boolean;
  /**
   * Written as `updateTaskProgress(record.taskName, progress, { afterRun: true })`
   * would, in the same transaction, when this finish's row is written. Of several
   * finishes of one task in a batch, the last one's whose row is written counts.
   */
  readonly progress?: TaskProgress;
}

/** Parameters of {@link Store.history}: newest first. */
export interface HistoryQuery {
  readonly taskName?: string;
  /** @defaultValue 100 */
  readonly limit?: number;
  /** Rows to pass over first (the newest `offset` matching rows): older pages. @defaultValue 0 */
  readonly offset?: number;
  /** Only rows with one of these statuses (absent: every status). */
  readonly statuses?: readonly RunStatus[];
}

/**
 * History retention: a row is deleted when any bound says so. A bound of
 * `Number.MAX_SAFE_INTEGER` or more (or Infinity) keeps everything.
 */
export interface HistoryRetention {
  /** Rows whose finish time (scheduled time, when unfinished) is older than this, in ms. */
  readonly maxAgeMs: number;
  /** Rows beyond the newest `maxRows` of the whole history. */
  readonly maxRows: number;
  /**
   * Per task name: rows beyond that task's newest N, whatever their age (the
   * age bound still applies to the N kept). Tasks not in the map: no such bound.
   */
  readonly keepLast?: ReadonlyMap<string, number>;
}

/** A bound of {@link HistoryRetention} as a whole number from 0, or null when it keeps everything. */
export function retentionBound(value: number): number | null {
  return Number.isNaN(value) || value >= Number.MAX_SAFE_INTEGER
    ? null
    : Math.max(0, Math.floor(value));
}
