/**
 * Every SQL statement of the SQLite store, one named export each (the
 * migrations' DDL lives in migrations.ts). `SqliteStore` prepares each once,
 * when it opens. Named parameters (`@name`) match the row objects bound.
 */

/** Connection settings, run on open, before migrating. */
export const PRAGMA_WAL = "journal_mode = WAL";
export const PRAGMA_SYNCHRONOUS_NORMAL = "synchronous = NORMAL";
export const PRAGMA_FOREIGN_KEYS = "foreign_keys = ON";
/** Reads every page once and reports damage ("ok" when there is none). */
export const PRAGMA_QUICK_CHECK = "quick_check";
export const PRAGMA_PAGE_SIZE = "page_size";
/** The most pages this connection lets the file grow to (a whole number, checked by the caller). */
export const pragmaMaxPageCount = (pages: number): string => `max_page_count = ${pages}`;

export const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;
export const MIGRATIONS_TABLE_EXISTS =
  "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
export const SELECT_SCHEMA_VERSION =
  "SELECT coalesce(max(version), 0) AS version FROM schema_migrations";
export const INSERT_MIGRATION =
  "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)";

const TASK_COLUMNS = `name, schedule, options, callback_encoding, callback_key_id, callback_bytes,
  callback_json, state, next_run_at, last_run_at, last_status, run_count, created_at, updated_at, version`;
const TASK_VALUES = `@name, @schedule, @options, @callbackEncoding, @callbackKeyId, @callbackBytes,
  @callbackJson, @state, @nextRunAt, @lastRunAt, @lastStatus, @runCount, @createdAt, @updatedAt, @version`;

/** Inserts a task unless one has that name (then no row changes: the caller raises DuplicateTaskError). */
export const INSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${TASK_VALUES})
  ON CONFLICT (name) DO NOTHING`;

/** Inserts or overwrites a task (`putTask` with `replace`). */
export const UPSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${TASK_VALUES})
  ON CONFLICT (name) DO UPDATE SET
    schedule = excluded.schedule, options = excluded.options,
    callback_encoding = excluded.callback_encoding, callback_key_id = excluded.callback_key_id,
    callback_bytes = excluded.callback_bytes, callback_json = excluded.callback_json,
    state = excluded.state, next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at,
    last_status = excluded.last_status, run_count = excluded.run_count,
    created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version`;

export const SELECT_TASK = `SELECT ${TASK_COLUMNS} FROM tasks WHERE name = ?`;
export const SELECT_TASKS = `SELECT ${TASK_COLUMNS} FROM tasks ORDER BY name`;

export const UPDATE_TASK_PROGRESS = `UPDATE tasks SET state = @state, next_run_at = @nextRunAt,
  last_run_at = @lastRunAt, last_status = @lastStatus, run_count = @runCount,
  updated_at = @updatedAt, version = version + 1
  WHERE name = @name`;

export const UPDATE_TASK_CALLBACK = `UPDATE tasks SET callback_encoding = @callbackEncoding,
  callback_key_id = @callbackKeyId, callback_bytes = @callbackBytes, callback_json = @callbackJson,
  updated_at = @updatedAt, version = version + 1
  WHERE name = @name`;

export const DELETE_TASK = "DELETE FROM tasks WHERE name = ?";

const CLAIM_COLUMNS =
  "id, task_name, scheduled_at, manual, node_id, claimed_at, lease_expires_at, exclusive, token";
/** What a claim row is read with: the inserted columns and those recordProcess sets. */
const CLAIM_ROW_COLUMNS = `${CLAIM_COLUMNS}, process_group, process_start, attempt_node`;

/** Runs of the task counted toward a finite maxRuns (no row: none). */
export const SELECT_RUNS_STARTED = "SELECT started FROM run_counts WHERE task_name = ?";

/** Counts one more run of the task toward its maxRuns (in the claim's transaction). */
export const COUNT_RUN_STARTED = `INSERT INTO run_counts (task_name, started) VALUES (?, 1)
  ON CONFLICT (task_name) DO UPDATE SET started = started + 1`;

/** Takes `@count` fencing tokens: returns the last; the batch's are `last - count + 1` to `last`. */
export const TAKE_TOKENS =
  "UPDATE claim_tokens SET last = last + @count WHERE id = 1 RETURNING last";

/*
 * A claim owns its run's slot: the partial UNIQUE index on (task_name,
 * scheduled_at) makes a second claim of a key in flight a no-op (no row); the
 * claim mark refuses keys at or before one already released, whose row is
 * gone; a slot settled skipped or missed is refused too. An exclusive request
 * holds the task as well unless another exclusive claim does (then the claim
 * comes back with exclusive = 0: overlapping). One statement each, run inside
 * the one `BEGIN IMMEDIATE` transaction of the batch, so check and insert
 * cannot interleave with another writer's.
 */
const EXCLUSIVE_IF_FREE = `@exclusive = 1 AND NOT EXISTS (
    SELECT 1 FROM claims WHERE task_name = @taskName AND exclusive = 1)`;

/**
 * Beside a release mark at or after the key (@taskName, `key`): the key is
 * spent when a history row is on it or a missed range covers it (a released
 * key with neither stays in `settled_slots`, see SETTLE_UNRECORDED_RELEASE).
 * An earlier key nobody claimed or recorded is still free: occurrences of
 * one task are not always claimed in order (a run queued behind the one
 * before it while another process takes a later one over), and refusing it
 * would leave the occurrence with no row.
 */
function recordedUnderMark(key: string): string {
  return `(EXISTS (
      SELECT 1 FROM run_history WHERE task_name = @taskName AND scheduled_at = ${key}
    ) OR EXISTS (
      SELECT 1 FROM run_history WHERE task_name = @taskName AND missed_through IS NOT NULL
        AND scheduled_at <= ${key} AND missed_through >= ${key}
    ))`;
}
export const RECORDED_UNDER_MARK = recordedUnderMark("@scheduledAt");

/** Claims a scheduled run (not a key under its task's release mark that was recorded, nor a settled one). */
export const CLAIM_SCHEDULED_RUN = `INSERT INTO claims (${CLAIM_COLUMNS})
  SELECT @id, @taskName, @scheduledAt, 0, @nodeId, @claimedAt, @leaseExpiresAt,
    ${EXCLUSIVE_IF_FREE}, @token
  WHERE NOT EXISTS (
    SELECT 1 FROM claim_marks WHERE task_name = @taskName AND released_through >= @scheduledAt
      AND ${RECORDED_UNDER_MARK}
  ) AND NOT EXISTS (
    SELECT 1 FROM settled_slots WHERE task_name = @taskName AND scheduled_at = @scheduledAt
  )
  ON CONFLICT (task_name, scheduled_at) WHERE manual = 0 DO NOTHING
  RETURNING ${CLAIM_ROW_COLUMNS}`;

/** Claims a manual run (`triggerTask`): unique by its own id. */
export const CLAIM_MANUAL_RUN = `INSERT INTO claims (${CLAIM_COLUMNS})
  SELECT @id, @taskName, @scheduledAt, 1, @nodeId, @claimedAt, @leaseExpiresAt,
    ${EXCLUSIVE_IF_FREE}, @token
  RETURNING ${CLAIM_ROW_COLUMNS}`;

/** Extends an unexpired claim still held by its node; no row when it was released, reaped or expired. */
export const RENEW_LEASE = `UPDATE claims SET lease_expires_at = @leaseExpiresAt
  WHERE id = @id AND node_id = @nodeId AND lease_expires_at > @now
  RETURNING id`;

/** Records the process of the attempt made under a claim its node still holds (see recordProcess). */
export const RECORD_CLAIM_PROCESS = `UPDATE claims SET process_group = @pgid, process_start = @startTime
  WHERE task_name = @taskName AND token = @fencingToken AND node_id = @nodeId`;

/** The claim, if its node still holds it (the fence of finishing writes). */
export const SELECT_HELD_CLAIM =
  "SELECT 1 AS held FROM claims WHERE id = @id AND node_id = @nodeId";

/** Any claim of the task on an occurrence from `@from` to `@to`. */
export const SELECT_CLAIM_IN_RANGE = `SELECT 1 AS taken FROM claims
  WHERE task_name = @taskName AND manual = 0 AND scheduled_at BETWEEN @from AND @to LIMIT 1`;
/**
 * A settled occurrence of the task from `@from` to `@to`, or, when the claim
 * mark (the latest released occurrence) is at or after `@from`, a history row
 * on one of them: it was claimed and recorded, or settled, by someone; or a
 * missed range that covers one of them (its settled occurrence is its last).
 * An occurrence under the mark that nobody claimed or recorded is still free.
 */
export const SELECT_SETTLED_IN_RANGE = `SELECT 1 AS settled FROM settled_slots
  WHERE task_name = @taskName AND scheduled_at BETWEEN @from AND @to
  UNION ALL SELECT 1 FROM claim_marks WHERE task_name = @taskName AND released_through >= @from
    AND EXISTS (SELECT 1 FROM run_history
      WHERE task_name = @taskName AND scheduled_at BETWEEN @from AND @to)
  UNION ALL SELECT 1 FROM run_history
    WHERE task_name = @taskName AND missed_through IS NOT NULL
      AND scheduled_at <= @to AND missed_through >= @from
  LIMIT 1`;
/** Forgets the settled occurrences the task's claim mark now covers and history answers for. */
export const DELETE_SETTLED_THROUGH = `DELETE FROM settled_slots
  WHERE task_name = @taskName AND scheduled_at <= @releasedThrough
    AND ${recordedUnderMark("settled_slots.scheduled_at")}`;
/**
 * A released key with no history row (`releaseClaim` alone) is settled: the
 * mark no longer makes every earlier key unclaimable by itself.
 */
export const SETTLE_UNRECORDED_RELEASE = `INSERT OR IGNORE INTO settled_slots (task_name, scheduled_at)
  SELECT @taskName, @releasedThrough WHERE NOT ${recordedUnderMark("@releasedThrough")}`;

/** Removes a claim; the caller then raises the task's claim mark for scheduled runs. */
export const DELETE_CLAIM = `DELETE FROM claims WHERE id = ? RETURNING ${CLAIM_ROW_COLUMNS}`;

/** Remembers that nothing at or before `releasedThrough` may be claimed again for the task. */
export const RAISE_CLAIM_MARK = `INSERT INTO claim_marks (task_name, released_through)
  VALUES (@taskName, @releasedThrough)
  ON CONFLICT (task_name) DO UPDATE SET
    released_through = max(released_through, excluded.released_through)`;

/**
 * Takes claim `@id` over for `@nodeId` (a reap): a new id, fencing token and
 * lease; the same key, exclusivity, recorded process and claim time, and the
 * node of the attempt it stands for (kept through a reaper that died too).
 */
export const TAKE_OVER_CLAIM = `UPDATE claims SET id = @newId, node_id = @nodeId,
  attempt_node = coalesce(attempt_node, node_id), lease_expires_at = @leaseExpiresAt,
  token = @token
  WHERE id = @id RETURNING ${CLAIM_ROW_COLUMNS}`;

/** A claim kept for its next attempt (finishRun without release): that attempt is its holder's. */
export const CLEAR_ATTEMPT_NODE =
  "UPDATE claims SET attempt_node = NULL WHERE id = ? AND attempt_node IS NOT NULL";

/** Claims whose lease expired before `@now`, or, at start, any claim of `@nodeId`. */
export const SELECT_REAPABLE_CLAIMS = `SELECT ${CLAIM_ROW_COLUMNS} FROM claims
  WHERE lease_expires_at < @now OR (@atStart = 1 AND node_id = @nodeId)
  ORDER BY claimed_at, id`;

export const INSERT_RUN = `INSERT INTO run_history
  (task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt, node_id, error, output,
    missed_through, missed_count)
  VALUES (@taskName, @claimId, @scheduledAt, @startedAt, @finishedAt, @status, @attempt, @nodeId, @error,
    @output, @missedThrough, @missedCount)`;

const RUN_COLUMNS = `task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt, node_id,
  error, output, missed_through, missed_count`;

/** Newest first: insertion order (`seq`), as every store orders history. */
/** `@statuses`: a JSON array of the statuses wanted, or null for all. */
const STATUS_FILTER = "(@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses)))";
export const SELECT_HISTORY = `SELECT ${RUN_COLUMNS} FROM run_history WHERE ${STATUS_FILTER}
  ORDER BY seq DESC LIMIT @limit OFFSET @offset`;
export const SELECT_TASK_HISTORY = `SELECT ${RUN_COLUMNS} FROM run_history
  WHERE task_name = @taskName AND ${STATUS_FILTER} ORDER BY seq DESC LIMIT @limit OFFSET @offset`;

/*
 * Retention deletes at most `@batch` rows per statement, each batch its own
 * transaction: a prune of millions of rows never holds the file's one write
 * lock for long (claims and run results go in between batches).
 */

/** Up to `@batch` rows whose finish (or, unfinished, scheduled) time is before `@oldest` (index on aged_at). */
export const PRUNE_AGED_BATCH = `DELETE FROM run_history WHERE seq IN (
  SELECT seq FROM run_history WHERE aged_at < @oldest LIMIT @batch)`;
/** The newest row beyond the newest `@maxRows`: it and every older row go (primary key). */
export const SELECT_ROWS_CUTOFF =
  "SELECT seq FROM run_history ORDER BY seq DESC LIMIT 1 OFFSET @maxRows";
/** Up to `@batch` of the rows at or before `@through`, oldest first. */
export const PRUNE_THROUGH_BATCH = `DELETE FROM run_history WHERE seq IN (
  SELECT seq FROM run_history WHERE seq <= @through ORDER BY seq LIMIT @batch)`;
/** The newest row of `@taskName` beyond its newest `@keep` (index on task_name, seq). */
export const SELECT_TASK_CUTOFF = `SELECT seq FROM run_history WHERE task_name = @taskName
  ORDER BY seq DESC LIMIT 1 OFFSET @keep`;
/** Up to `@batch` of the rows of `@taskName` at or before `@through`, oldest first. */
export const PRUNE_TASK_THROUGH_BATCH = `DELETE FROM run_history WHERE seq IN (
  SELECT seq FROM run_history WHERE task_name = @taskName AND seq <= @through
  ORDER BY seq LIMIT @batch)`;

/** Whether the tasks table exists (a database the daemon has not migrated yet has none). */
export const TASKS_TABLE_EXISTS =
  "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'tasks'";
/** The key ids sealed task records need, with how many records each. */
export const SELECT_SEALED_KEY_IDS = `SELECT callback_key_id AS keyId, count(*) AS records FROM tasks
  WHERE callback_encoding = 'sealed' GROUP BY callback_key_id ORDER BY callback_key_id`;
