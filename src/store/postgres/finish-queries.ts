/**
 * The batched finish of the PostgreSQL store (`Store.finishRuns`): the
 * fenced history rows of many attempts, the release of their claims and the
 * run-state columns of their tasks, in one statement and one commit. Per run
 * that is one commit shared by the whole batch instead of two of its own
 * (`writeRuns`, then `updateTaskProgress`): issue 17 measured the progress
 * update as the most expensive statement of a busy cluster.
 */
import type { FinishRequest } from "../store.js";
import { raiseMarks } from "./claim-mark.js";
import type { QuotedSchema } from "./queries.js";
import { toDate, writeRunsParams } from "./rows.js";

/**
 * The CTEs `released`, `freed`, `kept`, `recorded` and `marked` (after a CTE, before
 * the final select) of the statements that finish runs: releases the claims
 * `c` that match `releasing` (freeing their task's runner, raising the
 * task's release mark to its latest released scheduled time, manual claims
 * aside, in task order), clears the reaped attempt's node of those that match
 * `keeping` (kept for a retry), and inserts the history rows of `rows` (a source
 * with `writeRuns`'s columns and `ord`), in order.
 */
export function recordAndRelease(
  s: QuotedSchema,
  where: { readonly releasing: string; readonly keeping: string; readonly rows: string },
): string {
  return `released as (
  update ${s}.claims c set released_at = clock_timestamp(), lease_expires_at = null
  where ${where.releasing}
  returning c.id, c.task_name, c.scheduled_at, c.manual
), freed as (
  delete from ${s}.task_runners t using released x where t.task_name = x.task_name and t.claim_id = x.id
), kept as (
  -- A claim kept for a retry now stands for its holder's own attempt (see reapExpiredClaims).
  update ${s}.claims c set attempt_node = null
  where c.attempt_node is not null and ${where.keeping}
), recorded as (
  insert into ${s}.runs
    (task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt, node_id,
     error_message, error_stack, error_code, output, missed_through, missed_count)
  select task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt, node_id,
    error_message, error_stack, error_code, output::json, missed_through, missed_count
  from ${where.rows}
  order by ord
), marked as (${raiseMarks(s, "released", "not manual")}
)`;
}

/**
 * Finishes a batch of attempts. Parameters, one element per finish, in order:
 * $1..$17 as `writeRuns` (every row fenced: $15 the claim id, $16 its node,
 * $17 release), then the task's progress after the run, or nulls when none
 * is written with it: $18 state, $19 next run, $20 last run, $21 last status,
 * $22 run count, $23 the change notification's payload; $24 the channel.
 *
 * A row is written only while its node still holds its claim (locked first,
 * in id order, as `writeRuns` does); with `release` the claim is released in
 * the same commit (task runner freed, release mark raised). A task's progress
 * is written from its last finish in the batch whose row was written, as
 * `updateTaskProgress` after a run writes it: a task paused meanwhile stays
 * paused with no next run, and only a change of state notifies. Task rows are
 * locked in name order, after the claims, so two batches never wait on each
 * other in a cycle. Returns the positions (1-based) of the rows written.
 */
export const finishRuns = (s: QuotedSchema) => `with input as (
  select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
    $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::timestamptz[], $14::integer[], $15::text[], $16::text[], $17::boolean[], $18::text[],
    $19::timestamptz[], $20::timestamptz[], $21::text[], $22::integer[], $23::text[])
    with ordinality as r(task_name, claim_id, scheduled_at, started_at, finished_at, status, attempt,
      node_id, error_message, error_stack, error_code, output, missed_through, missed_count, fence,
      fence_node, release, p_state, p_next_run_at, p_last_run_at, p_last_status, p_run_count,
      p_change, ord)
), written as (
  -- The finishes whose claim this node still holds, locked in id order.
  select i.* from ${s}.claims c join input i on i.fence = c.id and i.fence_node = c.node_id
  where c.released_at is null
  order by c.id
  for update of c
), ${recordAndRelease(s, {
  releasing: "c.id in (select fence from written where release)",
  keeping: "c.id in (select fence from written where not release)",
  rows: "written",
})}, progress as (
  select distinct on (task_name) * from written where p_state is not null
  order by task_name, ord desc
), old as (
  -- Carries the progress along: joining progress again below paired two CTEs, and
  -- the planner, which guesses 1 row for a CTE, once made it a nested loop: a batch of
  -- n finishes compared n² rows (3,000 finishes: 9 million, 3.7 s). Every join of this
  -- statement goes through an index (tests: "no n² join").
  select t.name, t.state, (t.state = 'paused' and p.p_state = 'active') as keep_paused,
    p.p_state, p.p_next_run_at, p.p_last_run_at, p.p_last_status, p.p_run_count, p.p_change
  from ${s}.tasks t join progress p on p.task_name = t.name
  order by t.name
  for update of t
), progressed as (
  update ${s}.tasks t set
    state = case when o.keep_paused then 'paused' else o.p_state end,
    next_run_at = case when o.keep_paused then null else o.p_next_run_at end,
    last_run_at = o.p_last_run_at, last_status = o.p_last_status, run_count = o.p_run_count,
    updated_at = clock_timestamp(), version = t.version + 1
  from old o
  where t.name = o.name
  returning o.state <> t.state as state_changed, o.p_change
), notified as (
  select count(*)::int as n from progressed, lateral (select pg_notify($24, p_change)) sent
  where state_changed
)
select w.ord::int as ord, (select n from notified) as notified from written w`;

/**
 * The parameters of {@link finishRuns}. `change(taskName)` is the payload
 * that tells other nodes the task changed (sent only when its state did).
 */
export function finishRunsParams(
  finishes: readonly FinishRequest[],
  channel: string,
  change: (taskName: string) => string,
): unknown[] {
  const progress: unknown[][] = Array.from({ length: 6 }, () => []);
  for (const { record, progress: p } of finishes) {
    const values =
      p === undefined
        ? [null, null, null, null, null, null]
        : [
            p.state,
            toDate(p.nextRunAt),
            toDate(p.lastRunAt),
            p.lastStatus,
            p.runCount,
            change(record.taskName),
          ];
    values.forEach((value, i) => progress[i]?.push(value));
  }
  return [
    ...writeRunsParams(
      finishes.map(({ record, claim, release }) => ({ record, fence: claim, release })),
    ),
    ...progress,
    channel,
  ];
}
