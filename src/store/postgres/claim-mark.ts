/**
 * The SQL of the tasks' release marks (PostgreSQL store): raising them after
 * releases (the batched finish, settling), and telling, under a mark, a spent
 * key from a free one (the claim and takeover statements).
 */
import type { QuotedSchema } from "./queries.js";

/**
 * The condition, beside a release mark at or after the key
 * `${row}.task_name`, `${row}.scheduled_at`, under which the key is spent: a
 * history row on it, or a missed range that covers it (whose claim is on its
 * last occurrence). The mark remembers only the latest released occurrence,
 * and occurrences of one task are not always claimed in order (a node
 * queues a run behind the one before it while another node takes a later
 * one over): an earlier key nobody claimed or recorded is still free, and
 * refusing it would leave its occurrence with no row at all.
 */
export const recordedUnderMark = (s: QuotedSchema, row: string) => `(exists (
      select 1 from ${s}.runs h where h.task_name = ${row}.task_name and h.scheduled_at = ${row}.scheduled_at
    ) or exists (
      select 1 from ${s}.runs h where h.task_name = ${row}.task_name and h.missed_through is not null
        and h.scheduled_at <= ${row}.scheduled_at and h.missed_through >= ${row}.scheduled_at
    ))`;

/**
 * The CTE body that raises the release mark of each task to the latest of
 * its keys in `released` (a CTE or table with `task_name`, `scheduled_at`,
 * filtered by `where`), never lowering one.
 */
export const raiseMarks = (s: QuotedSchema, released: string, where = "true") => `
  insert into ${s}.claim_marks as m (task_name, released_through)
  select task_name, max(scheduled_at) from ${released} where ${where}
  group by task_name order by task_name
  on conflict (task_name) do update set released_through = excluded.released_through
    where m.released_through < excluded.released_through`;
