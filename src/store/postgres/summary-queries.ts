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

/** The table, its trigger function and the trigger (part of migration 12). */
export const createTaskSummaries = (s: QuotedSchema) => `
create table ${s}.task_summaries (
  task_name text primary key,
  last_id bigint,
  last_status text,
  last_run_at timestamptz,
  counts jsonb not null,
  durations_ms bigint[] not null
);

create function ${s}.runs_summarize() returns trigger language plpgsql as $fn$
begin
  insert into ${s}.task_summaries as t (task_name, last_id, last_status, last_run_at, counts, durations_ms)
  with r as (
    select task_name, id, status, scheduled_at,
      case when started_at is not null and finished_at is not null
        then round(extract(epoch from finished_at - started_at) * 1000)::bigint end as ms
    from new_rows
  ), counted as (
    select task_name, jsonb_object_agg(status, n) as counts
    from (select task_name, status, count(*) as n from r group by task_name, status) c
    group by task_name
  ), last as (
    select distinct on (task_name) task_name, id, status, scheduled_at
    from r where status <> 'lost' order by task_name, id desc
  ), timed as (
    select task_name, array_agg(ms order by id) as durations
    from (select task_name, id, ms, row_number() over (partition by task_name order by id desc) as k
      from r where ms is not null) x
    where k <= ${SUMMARY_DURATIONS} group by task_name
  )
  select c.task_name, l.id, l.status, l.scheduled_at, c.counts, coalesce(d.durations, '{}')
  from counted c left join last l using (task_name) left join timed d using (task_name)
  order by c.task_name
  on conflict (task_name) do update set
    counts = (select jsonb_object_agg(k, coalesce((t.counts ->> k)::bigint, 0)
        + coalesce((excluded.counts ->> k)::bigint, 0))
      from jsonb_object_keys(t.counts || excluded.counts) k),
    last_status = case when excluded.last_id > coalesce(t.last_id, -1)
      then excluded.last_status else t.last_status end,
    last_run_at = case when excluded.last_id > coalesce(t.last_id, -1)
      then excluded.last_run_at else t.last_run_at end,
    last_id = greatest(t.last_id, excluded.last_id),
    durations_ms = (t.durations_ms || excluded.durations_ms)[greatest(1,
      cardinality(t.durations_ms) + cardinality(excluded.durations_ms) - ${SUMMARY_DURATIONS - 1}):];
  return null;
end
$fn$;

create trigger runs_summarize after insert on ${s}.runs
  referencing new table as new_rows for each statement execute function ${s}.runs_summarize();
`;

/**
 * Fills the summaries of the tasks stored from their newest rows (last status,
 * durations; counts start at zero: counting would scan the whole history under
 * the migration's lock). One index scan of at most 40 rows per task.
 */
export const backfillTaskSummaries = (s: QuotedSchema) => `
insert into ${s}.task_summaries (task_name, last_id, last_status, last_run_at, counts, durations_ms)
select t.name, l.id, l.status, l.scheduled_at, '{}'::jsonb, coalesce(d.durations, '{}')
from ${s}.tasks t
left join lateral (select id, status, scheduled_at from ${s}.runs
  where task_name = t.name and status <> 'lost' order by id desc limit 1) l on true
left join lateral (select array_agg(ms order by id) as durations from (
    select id, round(extract(epoch from finished_at - started_at) * 1000)::bigint as ms
    from ${s}.runs where task_name = t.name and started_at is not null and finished_at is not null
    order by id desc limit ${SUMMARY_DURATIONS}) x) d on true
where l.id is not null`;

/** The summaries of tasks $1. */
export const selectTaskSummaries = (s: QuotedSchema) => `select task_name, last_status,
  floor(extract(epoch from last_run_at) * 1000)::float8 as last_run_ms, counts, durations_ms::float8[] as durations
from ${s}.task_summaries where task_name = any($1::text[])`;

/** A row of {@link selectTaskSummaries}. */
export interface TaskSummaryRow {
  readonly task_name: string;
  readonly last_status: string | null;
  readonly last_run_ms: number | null;
  readonly counts: Record<string, number | string>;
  readonly durations: number[];
}

/** The summary a row stands for. */
export function summaryOf(row: TaskSummaryRow): TaskSummary {
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const [status, n] of Object.entries(row.counts)) counts[status as RunStatus] = Number(n);
  return {
    taskName: row.task_name,
    lastStatus: row.last_status as RunStatus | null,
    lastRunAt: row.last_run_ms,
    counts,
    recentDurationsMs: row.durations.map(Number),
  };
}
