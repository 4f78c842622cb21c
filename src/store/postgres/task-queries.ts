/** The PostgreSQL store's statements on task rows (re-exported by queries.ts); each write notifies the schema's channel in the same statement. */
import type { QuotedSchema } from "./queries.js";

/** The column list read back for a task. */
const TASK_COLUMNS = `name, schedule, options, callback_encoding, callback_key_id, callback_bytes,
  callback_plain, state, next_run_at, last_run_at, last_status, run_count, created_at, version`;

/** Notifies `$1` (channel) with `$2` (payload) for every row of CTE `changed`. */
const NOTIFY_CHANGED = `select count(*)::int as n from changed, lateral (select pg_notify($1, $2)) notified`;

/**
 * Inserts a task unless one by that name exists; notifies `upsert`.
 * $1 channel, $2 payload, $3.. the columns. Returns n = 0 for a duplicate.
 */
export const insertTask = (s: QuotedSchema) => `with changed as (
  insert into ${s}.tasks (name, schedule, options, callback_encoding, callback_key_id, callback_bytes,
    callback_plain, state, next_run_at, last_run_at, last_status, run_count, created_at, updated_at, version)
  values ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, clock_timestamp(), $16)
  on conflict (name) do nothing
  returning name
) ${NOTIFY_CHANGED}`;

/** Inserts or overwrites a task; notifies `upsert`. Same parameters as {@link insertTask}. */
export const upsertTask = (s: QuotedSchema) => `with changed as (
  insert into ${s}.tasks (name, schedule, options, callback_encoding, callback_key_id, callback_bytes,
    callback_plain, state, next_run_at, last_run_at, last_status, run_count, created_at, updated_at, version)
  values ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, clock_timestamp(), $16)
  on conflict (name) do update set
    schedule = excluded.schedule, options = excluded.options,
    callback_encoding = excluded.callback_encoding, callback_key_id = excluded.callback_key_id,
    callback_bytes = excluded.callback_bytes, callback_plain = excluded.callback_plain,
    state = excluded.state, next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at,
    last_status = excluded.last_status, run_count = excluded.run_count,
    created_at = excluded.created_at, updated_at = clock_timestamp(), version = excluded.version
  returning name
) ${NOTIFY_CHANGED}`;

/** One task by name ($1). */
export const getTask = (s: QuotedSchema) =>
  `select ${TASK_COLUMNS} from ${s}.tasks where name = $1`;

/** Every task, by name. */
export const listTasks = (s: QuotedSchema) =>
  `select ${TASK_COLUMNS} from ${s}.tasks order by name`;

/**
 * Updates the run-state columns of task $3; notifies `upsert` only when the
 * state changed (paused, resumed, quarantined, completed), not after every run.
 * $4 state, $5 next_run_at, $6 last_run_at, $7 last_status, $8 run_count, $9 after a run:
 * then a task paused meanwhile (by another node) stays paused, with no next run.
 */
export const updateTaskProgress = (s: QuotedSchema) => `with old as (
  select name, state, ($9::boolean and state = 'paused' and $4::text = 'active') as keep_paused
  from ${s}.tasks where name = $3 for update
), updated as (
  update ${s}.tasks t set
    state = case when old.keep_paused then 'paused' else $4 end,
    next_run_at = case when old.keep_paused then null else $5::timestamptz end,
    last_run_at = $6, last_status = $7,
    run_count = $8, updated_at = clock_timestamp(), version = t.version + 1
  from old where t.name = old.name
  returning t.name, old.state <> t.state as state_changed
), notified as (
  select 1 from updated, lateral (select pg_notify($1, $2)) sent where state_changed
) select (select count(*)::int from updated) as n, (select count(*)::int from notified) as notified`;

/** Replaces the callback of task $3 ($4 encoding, $5 key id, $6 bytes, $7 plain); notifies `upsert`. */
export const updateTaskCallback = (s: QuotedSchema) => `with changed as (
  update ${s}.tasks t set callback_encoding = $4, callback_key_id = $5, callback_bytes = $6,
    callback_plain = $7, updated_at = clock_timestamp(), version = t.version + 1
  where name = $3
  returning name
) ${NOTIFY_CHANGED}`;

/** Deletes task $3 (history and claims stay); notifies `delete`. */
export const deleteTask = (s: QuotedSchema) => `with changed as (
  delete from ${s}.tasks where name = $3 returning name
) ${NOTIFY_CHANGED}`;

/** Sends one notification: $1 channel, $2 payload. */
export const notify = () => `select pg_notify($1, $2)`;
