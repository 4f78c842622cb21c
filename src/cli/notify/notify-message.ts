import type { NotificationKind } from "../../store/notification-outbox.js";

/** One notification before it is enqueued for each channel. */
export interface Notice {
  readonly taskName: string;
  readonly kind: NotificationKind;
  /** The change of state it reports (the same on every node): see `OutboxMessage.changeId`. */
  readonly changeId: string;
  /** The run (or first missed or skipped occurrence) it is about. */
  readonly scheduledAt: Date;
  /** One line saying what happened (already redacted). */
  readonly detail: string;
  /** Extra JSON fields for the webhook (error, exitCode, missed, …). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

const TITLES: Readonly<Record<NotificationKind, string>> = {
  failure: "failed",
  recovery: "recovered",
  missed: "missed runs",
  stuck: "is stuck",
};

/** The subject line: `[orchestrator] backup failed`. */
export function subjectOf(notice: Notice): string {
  return `[orchestrator] ${notice.taskName} ${TITLES[notice.kind]}`;
}

/** The message text (also the webhook's Slack-compatible `text`), with the rate limit's notes. */
export function textOf(notice: Notice, node: string, notes: readonly string[] = []): string {
  return [
    `${subjectOf(notice).replace("[orchestrator] ", "Task ")}: ${notice.detail}`,
    `Run scheduled at ${notice.scheduledAt.toISOString()}, reported by node ${node}.`,
    ...notes,
  ].join("\n");
}

/** The webhook's JSON body: `text` for Slack, and the same facts as fields. */
export function payloadOf(notice: Notice, node: string, text: string): Record<string, unknown> {
  return {
    text,
    task: notice.taskName,
    event: notice.kind,
    scheduledAt: notice.scheduledAt.toISOString(),
    detail: notice.detail,
    node,
    ...notice.fields,
  };
}
