/**
 * The SQL of the SQLite store's notification outbox (see
 * `notification-outbox.ts`), one named export each.
 */

const COLUMNS = `id, task_name, kind, change_id, channel, recipient, subject, text, payload,
  status, attempts, created_at, next_attempt_at, claimed_by, finished_at, last_error`;

/**
 * Enqueues one message. The unique key (task, kind, change id, channel) makes a
 * second node's copy of the same change a no-op: each is sent once.
 */
export const INSERT_OUTBOX = `INSERT INTO notification_outbox
  (task_name, kind, change_id, channel, recipient, subject, text, payload, status, attempts,
   created_at, next_attempt_at)
  VALUES (@taskName, @kind, @changeId, @channel, @recipient, @subject, @text, @payload, 'pending', 0,
   @createdAt, @createdAt)
  ON CONFLICT (task_name, kind, change_id, channel) DO NOTHING`;

/**
 * Claims the oldest rows due (pending and due, or sending with an expired
 * claim) of the tasks named in the JSON array `@names`. The store's write
 * queue runs it in a `BEGIN IMMEDIATE` transaction: one claimer at a time.
 */
export const CLAIM_OUTBOX = `UPDATE notification_outbox
  SET status = 'sending', claimed_by = @nodeId, lease_until = @leaseUntil, attempts = attempts + 1
  WHERE id IN (
    SELECT id FROM notification_outbox
    WHERE ((status = 'pending' AND next_attempt_at <= @now) OR (status = 'sending' AND lease_until < @now))
      AND task_name IN (SELECT value FROM json_each(@names))
    ORDER BY id LIMIT @limit)
  RETURNING ${COLUMNS}`;

/** Records an attempt's outcome, if `@nodeId` still holds the row. */
export const FINISH_OUTBOX = `UPDATE notification_outbox
  SET status = @status, finished_at = @finishedAt, next_attempt_at = coalesce(@nextAttemptAt, next_attempt_at),
    last_error = coalesce(@error, last_error), lease_until = NULL
  WHERE id = @id AND claimed_by = @nodeId AND status = 'sending'`;

/** Sent after `@since`, and suppressed since the last one sent, for one task's channel. */
export const OUTBOX_WINDOW = `SELECT
  (SELECT count(*) FROM notification_outbox WHERE task_name = @taskName AND channel = @channel
    AND status = 'sent' AND finished_at > @since) AS sent,
  (SELECT count(*) FROM notification_outbox WHERE task_name = @taskName AND channel = @channel
    AND status = 'suppressed' AND finished_at >= coalesce((SELECT max(finished_at) FROM notification_outbox
      WHERE task_name = @taskName AND channel = @channel AND status = 'sent'), 0)) AS held`;

/** The newest rows. */
export const SELECT_OUTBOX = `SELECT ${COLUMNS} FROM notification_outbox ORDER BY id DESC LIMIT ?`;
/** One task's newest rows. */
export const SELECT_TASK_OUTBOX = `SELECT ${COLUMNS} FROM notification_outbox
  WHERE task_name = ? ORDER BY id DESC LIMIT ?`;

/** Deletes finished rows: suppressed before `@suppressedBefore`, sent or failed before `@finishedBefore`. */
export const PRUNE_OUTBOX = `DELETE FROM notification_outbox
  WHERE (status = 'suppressed' AND finished_at < @suppressedBefore)
     OR (status IN ('sent', 'failed') AND finished_at < @finishedBefore)`;
