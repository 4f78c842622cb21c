/**
 * Per-task summaries of the PostgreSQL history (`task_summaries`, migration
 * 12): kept by a statement-level trigger on `runs` that folds each insert
 * statement's rows (a batch of `writeRuns`, `settleSlots`) into one upsert
 * per task, in the writer's transaction, so that a summary is never ahead of
 * or behind the history it stands for, whichever node or version wrote it.
 */
import type { RunStatus } from "../../core/task.js";
import { SUMMARY_DURATIONS, type TaskSummary } from "../task-summary.js";
import type { QuotedSchema } from "./queries.js";

/**
 * A count column per status (the statuses of `runs_status_check`): adding
 * integers is far cheaper in the trigger than merging a JSON map. A status
 * added later needs its column here and in a migration.
 */
export const STATUS_COLUMNS: Readonly<Record<RunStatus, string>> = Object.freeze({
  succeeded: "succeeded",
  failed: "failed",
  "timed-out": "timed_out",
  skipped: "skipped",
  missed: "missed",
  interrupted: "interrupted",
  lost: "lost",
  cancelled: "cancelled",
});

const statuses = Object.entries(STATUS_COLUMNS) as [RunStatus, string][];

/** The table, its trigger function and the trigger (part of migration 11). */
export const createTaskSummaries = (s: QuotedSchema) => `
create table ${s}.task_summaries (
  task_name text primary key,
  last_id bigint,
  last_status text,
  last_run_at timestamptz,
${statuses.map(([, column]) => `  ${column} bigint not null default 0,`).join("\n")}
  -- Newest first.
  durations_ms bigint[] not null default '{}'
);

-- One pass over the statement's rows, one upsert per task (in name order, so
-- that concurrent writers lock summaries in one order).
create function ${s}.runs_summarize() returns trigger language plpgsql as $fn$
begin
  insert into ${s}.task_summaries as t (task_name, last_id, last_status, last_run_at,
    ${statuses.map(([, column]) => column).join(", ")}, durations_ms)
  select task_name,
    max(id) filter (where status <> 'lost'),
    (array_agg(status order by id desc) filter (where status <> 'lost'))[1],
    (array_agg(scheduled_at order by id desc) filter (where status <> 'lost'))[1],
${statuses.map(([status]) => `    count(*) filter (where status = '${status}'),`).join("\n")}
    coalesce((array_agg(round(extract(epoch from finished_at - started_at) * 1000)::bigint order by id desc)
      filter (where started_at is not null and finished_at is not null))[1:${SUMMARY_DURATIONS}], '{}')
  from new_rows
  group by task_name
  order by task_name
  on conflict (task_name) do update set
    last_status = case when excluded.last_id > coalesce(t.last_id, -1)
      then excluded.last_status else t.last_status end,
    last_run_at = case when excluded.last_id > coalesce(t.last_id, -1)
      then excluded.last_run_at else t.last_run_at end,
    last_id = greatest(t.last_id, excluded.last_id),
${statuses.map(([, column]) => `    ${column} = t.${column} + excluded.${column},`).join("\n")}
    durations_ms = (excluded.durations_ms || t.durations_ms)[1:${SUMMARY_DURATIONS}];
  return null;
end
$fn$;

create trigger runs_summarize after insert on ${s}.runs
  referencing new table as new_rows for each statement execute function ${s}.runs_summarize();
`;

/**
 * Fills the summaries of the tasks stored from their newest rows (last status,
 * durations; counts start at zero: counting would scan the whole history under
 * the migration's lock). Two index scans of at most 20 rows per task.
 */
export const backfillTaskSummaries = (s: QuotedSchema) => `
insert into ${s}.task_summaries (task_name, last_id, last_status, last_run_at, durations_ms)
select t.name, l.id, l.status, l.scheduled_at, coalesce(d.durations, '{}')
from ${s}.tasks t
left join lateral (select id, status, scheduled_at from ${s}.runs
  where task_name = t.name and status <> 'lost' order by id desc limit 1) l on true
left join lateral (select array_agg(ms order by id desc) as durations from (
    select id, round(extract(epoch from finished_at - started_at) * 1000)::bigint as ms
    from ${s}.runs where task_name = t.name and started_at is not null and finished_at is not null
    order by id desc limit ${SUMMARY_DURATIONS}) x) d on true
where l.id is not null`;

/** The summaries of tasks $1. */
export const selectTaskSummaries = (s: QuotedSchema) => `select task_name, last_status,
  floor(extract(epoch from last_run_at) * 1000)::float8 as last_run_ms,
  ${statuses.map(([, column]) => `${column}::float8`).join(", ")},
  durations_ms::float8[] as durations
from ${s}.task_summaries where task_name = any($1::text[])`;

/** A row of {@link selectTaskSummaries}. */
export interface TaskSummaryRow {
  readonly task_name: string;
  readonly last_status: string | null;
  readonly last_run_ms: number | null;
  /** Newest first. */
  readonly durations: number[];
  readonly [column: string]: unknown;
}

/** The summary a row stands for. */
export function summaryOf(row: TaskSummaryRow): TaskSummary {
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const [status, column] of statuses) {
    const n = Number(row[column]);
    if (n > 0) counts[status] = n;
  }
  return {
    taskName: row.task_name,
    lastStatus: row.last_status as RunStatus | null,
    lastRunAt: row.last_run_ms,
    counts,
    recentDurationsMs: row.durations.map(Number).reverse(),
  };
}
