/**
 * The SQL that tells, under a task's release mark, a spent key from a free
 * one (PostgreSQL store); used by the claim and takeover statements.
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
