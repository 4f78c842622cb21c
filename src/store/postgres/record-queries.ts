/**
 * The SQL of the PostgreSQL store's daemon records (audit log, schedule
 * files, task origins; see `daemon-records.ts`), one named export each, split
 * from queries.ts to keep that file about tasks, claims and history. Each is
 * a function of the quoted schema, rendered once per store by
 * {@link buildRecordQueries}.
 */
import type { QuotedSchema } from "./queries.js";

const AUDIT_COLUMNS = "at, actor, action, task_name, result, detail";

/** Appends an audit row: $1 at, $2 actor, $3 action, $4 task, $5 result, $6 detail. */
export const insertAudit = (s: QuotedSchema) =>
  `insert into ${s}.audit_log (${AUDIT_COLUMNS}) values ($1, $2, $3, $4, $5, $6)`;

/** The newest $1 audit rows. */
export const selectAudit = (s: QuotedSchema) =>
  `select ${AUDIT_COLUMNS} from ${s}.audit_log order by id desc limit $1`;

/** The newest $1 audit rows of task $2. */
export const selectTaskAudit = (s: QuotedSchema) =>
  `select ${AUDIT_COLUMNS} from ${s}.audit_log where task_name = $2 order by id desc limit $1`;

/** Deletes audit rows older than $1 ms (DB clock) or beyond the newest $2 rows. */
export const pruneAudit = (s: QuotedSchema) => `with by_age as (
  delete from ${s}.audit_log where at < clock_timestamp() - $1 * interval '1 millisecond'
  returning id
), by_count as (
  delete from ${s}.audit_log
  where id <= (select id from ${s}.audit_log order by id desc offset $2 limit 1)
  returning id
) select (select count(*) from by_age)::int + (select count(*) from by_count where id not in (select id from by_age))::int as n`;

const FILE_COLUMNS = "source, node_id, path, sha256, applied_at, seen_at, stopped_at";

/** Inserts or replaces the schedule file of source $1 ($2 node … $7 stopped at). */
export const upsertScheduleFile = (s: QuotedSchema) => `insert into ${s}.schedule_files
  (${FILE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7)
  on conflict (source) do update set
    node_id = excluded.node_id, path = excluded.path, sha256 = excluded.sha256,
    applied_at = excluded.applied_at, seen_at = excluded.seen_at, stopped_at = excluded.stopped_at`;

/** Every schedule file record, by source. */
export const selectScheduleFiles = (s: QuotedSchema) =>
  `select ${FILE_COLUMNS} from ${s}.schedule_files order by source`;

const ORIGIN_COLUMNS = "task_name, source, node_id, path, sha256, task_created_at, recorded_at";

/** Inserts or replaces task origins given as parallel arrays $1 … $7, in one statement. */
export const upsertTaskOrigins = (s: QuotedSchema) => `insert into ${s}.task_origins
  (${ORIGIN_COLUMNS})
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
    $6::timestamptz[], $7::timestamptz[])
  order by 1
  on conflict (task_name) do update set
    source = excluded.source, node_id = excluded.node_id, path = excluded.path,
    sha256 = excluded.sha256, task_created_at = excluded.task_created_at,
    recorded_at = excluded.recorded_at`;

/** Forgets the origins of the tasks named in $1. */
export const deleteTaskOrigins = (s: QuotedSchema) =>
  `delete from ${s}.task_origins where task_name = any($1::text[])`;

/** Every task origin, by task name. */
export const selectTaskOrigins = (s: QuotedSchema) =>
  `select ${ORIGIN_COLUMNS} from ${s}.task_origins order by task_name`;

/** Files the cancel request ($1 task, $2 ms, $3 actor), replacing the task's earlier one. */
export const upsertCancelRequest = (s: QuotedSchema) => `insert into ${s}.cancel_requests
  (task_name, requested_at, actor) values ($1, $2, $3)
  on conflict (task_name) do update set requested_at = excluded.requested_at, actor = excluded.actor`;

/** Every pending cancel request. */
export const selectCancelRequests = (s: QuotedSchema) =>
  `select task_name, requested_at, actor from ${s}.cancel_requests order by task_name`;

/** Deletes the request of task $1 filed at $2. */
export const deleteCancelRequest = (s: QuotedSchema) =>
  `delete from ${s}.cancel_requests where task_name = $1 and requested_at = $2 returning task_name`;

/** Every records statement of one schema, rendered once. */
export type RecordQueries = Readonly<Record<RecordQueryName, string>>;

const BUILDERS = {
  insertAudit,
  selectAudit,
  selectTaskAudit,
  pruneAudit,
  upsertScheduleFile,
  selectScheduleFiles,
  upsertTaskOrigins,
  deleteTaskOrigins,
  selectTaskOrigins,
  upsertCancelRequest,
  selectCancelRequests,
  deleteCancelRequest,
};

/** The name of one records statement. */
export type RecordQueryName = keyof typeof BUILDERS;

/** Renders every records statement for the (already quoted) schema. */
export function buildRecordQueries(schema: QuotedSchema): RecordQueries {
  return Object.freeze(
    Object.fromEntries(
      Object.entries(BUILDERS).map(([name, build]) => [name, build(schema)]),
    ) as Record<RecordQueryName, string>,
  );
}
