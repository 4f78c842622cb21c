/**
 * The SQL of the SQLite store's daemon records (audit log, schedule files,
 * task origins; see `daemon-records.ts`), one named export each, split from
 * queries.ts to keep that file about tasks, claims and history.
 */

const AUDIT_COLUMNS = "at, actor, action, task_name, result, detail";

/** Appends an audit row. */
export const INSERT_AUDIT = `INSERT INTO audit_log (${AUDIT_COLUMNS})
  VALUES (@at, @actor, @action, @taskName, @result, @detail)`;

/** Every audit row, newest first: insertion order (`seq`). */
export const SELECT_AUDIT = `SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT ?`;
/** One task's audit rows, newest first. */
export const SELECT_TASK_AUDIT = `SELECT ${AUDIT_COLUMNS} FROM audit_log
  WHERE task_name = ? ORDER BY seq DESC LIMIT ?`;

/** Deletes audit rows older than `@oldest` (epoch ms). */
export const PRUNE_AUDIT_BY_AGE = "DELETE FROM audit_log WHERE at < @oldest";
/** Deletes all but the newest `@maxRows` audit rows. */
export const PRUNE_AUDIT_BY_ROWS = `DELETE FROM audit_log WHERE seq <= (
  SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1 OFFSET @maxRows)`;

const FILE_COLUMNS = "source, node_id, path, sha256, applied_at, seen_at, stopped_at";

/** Inserts or replaces the schedule file record of `@source`. */
export const UPSERT_SCHEDULE_FILE = `INSERT INTO schedule_files (${FILE_COLUMNS})
  VALUES (@source, @nodeId, @path, @sha256, @appliedAt, @seenAt, @stoppedAt)
  ON CONFLICT (source) DO UPDATE SET
    node_id = excluded.node_id, path = excluded.path, sha256 = excluded.sha256,
    applied_at = excluded.applied_at, seen_at = excluded.seen_at, stopped_at = excluded.stopped_at`;
/** Every schedule file record, by source. */
export const SELECT_SCHEDULE_FILES = `SELECT ${FILE_COLUMNS} FROM schedule_files ORDER BY source`;

const ORIGIN_COLUMNS = "task_name, source, node_id, path, sha256, task_created_at, recorded_at";

/** Inserts or replaces the origin of `@taskName`. */
export const UPSERT_TASK_ORIGIN = `INSERT INTO task_origins (${ORIGIN_COLUMNS})
  VALUES (@taskName, @source, @nodeId, @path, @sha256, @taskCreatedAt, @recordedAt)
  ON CONFLICT (task_name) DO UPDATE SET
    source = excluded.source, node_id = excluded.node_id, path = excluded.path,
    sha256 = excluded.sha256, task_created_at = excluded.task_created_at,
    recorded_at = excluded.recorded_at`;
/** Forgets the origin of one task. */
export const DELETE_TASK_ORIGIN = "DELETE FROM task_origins WHERE task_name = ?";
/** Every task origin, by task name. */
export const SELECT_TASK_ORIGINS = `SELECT ${ORIGIN_COLUMNS} FROM task_origins ORDER BY task_name`;

export const UPSERT_CANCEL_REQUEST = `INSERT INTO cancel_requests (task_name, requested_at, actor)
  VALUES (@taskName, @requestedAt, @actor)
  ON CONFLICT (task_name) DO UPDATE SET requested_at = excluded.requested_at, actor = excluded.actor`;
export const SELECT_CANCEL_REQUESTS = `SELECT task_name AS taskName, requested_at AS requestedAt, actor
  FROM cancel_requests ORDER BY task_name`;
export const DELETE_CANCEL_REQUEST =
  "DELETE FROM cancel_requests WHERE task_name = ? AND requested_at = ?";
