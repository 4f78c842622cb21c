/**
 * The notification outbox: messages about tasks (a failure, a recovery, a
 * missed or stuck run) written to the store before they are sent, so that in a
 * cluster each is enqueued once — the unique key (task, kind, change id,
 * channel) drops a second node's copy — and delivered once, by whichever node
 * claims it. Rows hold no secret: the recipient is shown as the daemon's
 * redactor left it, and the channel's settings (SMTP URL, webhook URL and
 * headers) stay in the delivering daemon's memory.
 */

/** What a notification is about. */
export type NotificationKind = "failure" | "recovery" | "missed" | "stuck";

/** How it is sent. */
export type NotificationChannel = "email" | "webhook";

/**
 * `pending` (waiting, perhaps for a retry), `sending` (claimed by a node),
 * `sent`, `failed` (given up after its attempts), `suppressed` (held back by
 * the rate limit: recorded, not sent).
 */
export type OutboxStatus = "pending" | "sending" | "sent" | "failed" | "suppressed";

/** A message to enqueue. */
export interface OutboxMessage {
  readonly taskName: string;
  readonly kind: NotificationKind;
  /**
   * Which change of state it reports, the same on every node: the scheduled
   * instant (epoch ms, as text) of the run that changed it, for example.
   */
  readonly changeId: string;
  readonly channel: NotificationChannel;
  /** Who it goes to, for people reading the record (redacted; never a secret). */
  readonly recipient: string;
  readonly subject: string;
  /** The message text (redacted). */
  readonly text: string;
  /** The webhook's JSON fields besides `text`, as JSON text (redacted). */
  readonly payload: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** A row of the outbox. */
export interface OutboxEntry extends OutboxMessage {
  readonly id: number;
  readonly status: OutboxStatus;
  /** Delivery attempts made (claims taken). */
  readonly attempts: number;
  /** Epoch ms: not claimed before. */
  readonly nextAttemptAt: number;
  /** The node that holds or last held it. */
  readonly claimedBy: string | null;
  /** Epoch ms when it was sent, given up or suppressed; null while pending. */
  readonly finishedAt: number | null;
  /** The last delivery error, if any. */
  readonly lastError: string | null;
}

/** Parameters of {@link NotificationOutbox.claim}. */
export interface OutboxClaim {
  readonly nodeId: string;
  /** Epoch ms. */
  readonly nowMs: number;
  /** A claim not finished within this many ms may be taken by another node. */
  readonly leaseMs: number;
  readonly limit: number;
  /** Only rows of these tasks: a node sends only for tasks whose settings it holds. */
  readonly taskNames: readonly string[];
}

/** How an attempt ended, for {@link NotificationOutbox.finish}. */
export type OutboxOutcome =
  | { readonly status: "sent" | "suppressed"; readonly atMs: number; readonly error?: string }
  | { readonly status: "failed"; readonly atMs: number; readonly error: string }
  | { readonly status: "pending"; readonly nextAttemptAt: number; readonly error: string };

/** Parameters of {@link NotificationOutbox.list}: newest first. */
export interface OutboxQuery {
  readonly taskName?: string;
  /** @defaultValue 50 */
  readonly limit?: number;
}

/** What the rate limit needs to know about one task's channel. */
export interface OutboxWindow {
  /** Messages sent since the window's start. */
  readonly sent: number;
  /** Messages suppressed since the last one sent. */
  readonly held: number;
}

/**
 * The outbox a store keeps (the memory, SQLite and PostgreSQL stores do:
 * `store.notifications`). Errors are StoreErrors.
 */
export interface NotificationOutbox {
  /** Inserts the messages whose key is new; resolves how many were. */
  enqueue(messages: readonly OutboxMessage[]): Promise<number>;
  /**
   * Claims up to `limit` rows due for an attempt (pending and due, or sending
   * with an expired claim), oldest first, counting an attempt on each. On
   * PostgreSQL rows another node is claiming are skipped (`SKIP LOCKED`).
   */
  claim(request: OutboxClaim): Promise<OutboxEntry[]>;
  /** Records an attempt's outcome; false when `nodeId` no longer holds the row. */
  finish(id: number, nodeId: string, outcome: OutboxOutcome): Promise<boolean>;
  /** Counts for the rate limit of one task's channel after `sinceMs` (exclusive). */
  window(taskName: string, channel: NotificationChannel, sinceMs: number): Promise<OutboxWindow>;
  /** Rows, newest first. */
  list(query?: OutboxQuery): Promise<OutboxEntry[]>;
  /**
   * Deletes finished rows: `suppressed` ones finished before `suppressedBeforeMs`,
   * `sent` and `failed` ones before `finishedBeforeMs`. Resolves how many.
   */
  prune(finishedBeforeMs: number, suppressedBeforeMs: number): Promise<number>;
}

/** An outbox row as both SQL stores return it; instants in the store's own type. */
export interface OutboxRow<T> {
  readonly id: number | string;
  readonly task_name: string;
  readonly kind: NotificationKind;
  readonly change_id: string;
  readonly channel: NotificationChannel;
  readonly recipient: string;
  readonly subject: string;
  readonly text: string;
  readonly payload: string;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly created_at: T;
  readonly next_attempt_at: T;
  readonly claimed_by: string | null;
  readonly finished_at: T | null;
  readonly last_error: string | null;
}

/** The entry of a row; `ms` turns the store's instants into epoch ms. */
export function outboxEntryOf<T>(row: OutboxRow<T>, ms: (value: T) => number): OutboxEntry {
  return {
    id: Number(row.id),
    taskName: row.task_name,
    kind: row.kind,
    changeId: row.change_id,
    channel: row.channel,
    recipient: row.recipient,
    subject: row.subject,
    text: row.text,
    payload: row.payload,
    status: row.status,
    attempts: Number(row.attempts),
    createdAt: ms(row.created_at),
    nextAttemptAt: ms(row.next_attempt_at),
    claimedBy: row.claimed_by,
    finishedAt: row.finished_at === null ? null : ms(row.finished_at),
    lastError: row.last_error,
  };
}
