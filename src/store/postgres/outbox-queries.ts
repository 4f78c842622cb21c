/**
 * The SQL of the PostgreSQL store's notification outbox (see
 * `notification-outbox.ts`), one named export each, a function of the quoted
 * schema, rendered once per store by {@link buildOutboxQueries}.
 */
import type { QuotedSchema } from "./queries.js";

const COLUMNS = `id, task_name, kind, change_id, channel, recipient, subject, text, payload,
  status, attempts, created_at, next_attempt_at, claimed_by, finished_at, last_error`;

/**
 * Enqueues messages given as parallel arrays ($1 tasks … $9 created): the
 * unique key (task, kind, change id, channel) makes a second node's copy of
 * the same change a no-op, so each is sent once. Returns the ids inserted.
 */
export const insertOutbox = (s: QuotedSchema) => `insert into ${s}.notification_outbox
  (task_name, kind, change_id, channel, recipient, subject, text, payload, status, attempts,
   created_at, next_attempt_at)
  select t, k, c, ch, r, su, tx, p, 'pending', 0, at, at
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::timestamptz[]) as m(t, k, c, ch, r, su, tx, p, at)
  on conflict (task_name, kind, change_id, channel) do nothing
  returning id`;

/**
 * Claims up to $3 rows due at $1 (pending and due, or sending with an expired
 * claim) of the tasks $5, for node $2 until $4. Rows another node is claiming
 * are skipped (SKIP LOCKED), so nodes never wait on each other or take one row twice.
 */
export const claimOutbox = (s: QuotedSchema) => `with picked as (
  select id from ${s}.notification_outbox
  where ((status = 'pending' and next_attempt_at <= $1) or (status = 'sending' and lease_until < $1))
    and task_name = any($5::text[])
  order by id limit $3
  for update skip locked
)
update ${s}.notification_outbox o
set status = 'sending', claimed_by = $2, lease_until = $4, attempts = o.attempts + 1
from picked where o.id = picked.id
returning ${COLUMNS.replace(/(\w+)/g, "o.$1")}`;

/** Records an attempt's outcome ($3 status, $4 finished, $5 next attempt, $6 error) if node $2 holds row $1. */
export const finishOutbox = (s: QuotedSchema) => `update ${s}.notification_outbox
  set status = $3, finished_at = $4, next_attempt_at = coalesce($5, next_attempt_at),
    last_error = coalesce($6, last_error), lease_until = null
  where id = $1 and claimed_by = $2 and status = 'sending'
  returning id`;

/** Sent after $3, and suppressed since the last one sent, for task $1's channel $2. */
export const outboxWindow = (s: QuotedSchema) => `select
  (select count(*)::int from ${s}.notification_outbox where task_name = $1 and channel = $2
    and status = 'sent' and finished_at > $3) as sent,
  (select count(*)::int from ${s}.notification_outbox where task_name = $1 and channel = $2
    and status = 'suppressed' and finished_at >= coalesce((select max(finished_at)
      from ${s}.notification_outbox where task_name = $1 and channel = $2 and status = 'sent'),
      'epoch'::timestamptz)) as held`;

/** The newest $1 rows. */
export const selectOutbox = (s: QuotedSchema) =>
  `select ${COLUMNS} from ${s}.notification_outbox order by id desc limit $1`;

/** The newest $1 rows of task $2. */
export const selectTaskOutbox = (s: QuotedSchema) =>
  `select ${COLUMNS} from ${s}.notification_outbox where task_name = $2 order by id desc limit $1`;

/** Deletes finished rows: suppressed before $2, sent or failed before $1. */
export const pruneOutbox = (s: QuotedSchema) => `delete from ${s}.notification_outbox
  where (status = 'suppressed' and finished_at < $2)
     or (status in ('sent', 'failed') and finished_at < $1)
  returning id`;

const BUILDERS = {
  pruneOutbox,
  insertOutbox,
  claimOutbox,
  finishOutbox,
  outboxWindow,
  selectOutbox,
  selectTaskOutbox,
};

/** The name of one outbox statement. */
export type OutboxQueryName = keyof typeof BUILDERS;

/** Renders every outbox statement for the (already quoted) schema. */
export function buildOutboxQueries(
  schema: QuotedSchema,
): Readonly<Record<OutboxQueryName, string>> {
  return Object.freeze(
    Object.fromEntries(
      Object.entries(BUILDERS).map(([name, build]) => [name, build(schema)]),
    ) as Record<OutboxQueryName, string>,
  );
}
