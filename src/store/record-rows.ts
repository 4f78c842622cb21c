/**
 * The rows of the daemon-record tables as the SQL stores read them (the same
 * columns in SQLite and PostgreSQL; instants are epoch ms in SQLite and Dates
 * in PostgreSQL, hence the type parameter), and their conversion.
 */
import type { AuditEntry, AuditResult, ScheduleFileRecord, TaskOrigin } from "./daemon-records.js";

/** An `audit_log` row. */
export interface AuditRow<Instant> {
  at: Instant;
  actor: string;
  action: string;
  task_name: string | null;
  result: string;
  detail: string | null;
}

/** A `schedule_files` row. */
export interface ScheduleFileRow<Instant> {
  source: string;
  node_id: string;
  path: string;
  sha256: string;
  applied_at: Instant;
  seen_at: Instant;
  stopped_at: Instant | null;
}

/** A `task_origins` row. */
export interface TaskOriginRow<Instant> {
  task_name: string;
  source: string;
  node_id: string;
  path: string;
  sha256: string;
  task_created_at: Instant;
  recorded_at: Instant;
}

/** Reads an instant column as epoch ms. */
export type ToMs<Instant> = (instant: Instant) => number;

/** An `audit_log` row as an {@link AuditEntry}. */
export function auditOf<I>(row: AuditRow<I>, ms: ToMs<I>): AuditEntry {
  return {
    at: ms(row.at),
    actor: row.actor,
    action: row.action,
    taskName: row.task_name,
    result: row.result as AuditResult,
    detail: row.detail,
  };
}

/** A `schedule_files` row as a {@link ScheduleFileRecord}. */
export function scheduleFileOf<I>(row: ScheduleFileRow<I>, ms: ToMs<I>): ScheduleFileRecord {
  return {
    source: row.source,
    nodeId: row.node_id,
    path: row.path,
    sha256: row.sha256,
    appliedAt: ms(row.applied_at),
    seenAt: ms(row.seen_at),
    stoppedAt: row.stopped_at === null ? null : ms(row.stopped_at),
  };
}

/** A `task_origins` row as a {@link TaskOrigin}. */
export function taskOriginOf<I>(row: TaskOriginRow<I>, ms: ToMs<I>): TaskOrigin {
  return {
    taskName: row.task_name,
    source: row.source,
    nodeId: row.node_id,
    path: row.path,
    sha256: row.sha256,
    taskCreatedAt: ms(row.task_created_at),
    recordedAt: ms(row.recorded_at),
  };
}
