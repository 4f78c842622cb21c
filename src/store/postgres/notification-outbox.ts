import type { QueryResultRow } from "pg";
import {
  outboxEntryOf,
  type NotificationChannel,
  type NotificationOutbox,
  type OutboxClaim,
  type OutboxEntry,
  type OutboxMessage,
  type OutboxOutcome,
  type OutboxQuery,
  type OutboxRow,
  type OutboxWindow,
} from "../notification-outbox.js";
import type { OutboxQueryName } from "./outbox-queries.js";
import { toDate } from "./rows.js";

const ms = (date: Date): number => date.getTime();

/** Runs one outbox statement through the PostgresStore's pool (errors become StoreErrors). */
export type OutboxRunner = <R extends QueryResultRow = QueryResultRow>(
  name: OutboxQueryName,
  values: unknown[],
) => Promise<R[]>;

/** The {@link NotificationOutbox} of the PostgresStore (the table of migration 7). */
export class PostgresNotificationOutbox implements NotificationOutbox {
  readonly #run: OutboxRunner;

  constructor(run: OutboxRunner) {
    this.#run = run;
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<number> {
    if (messages.length === 0) return 0;
    const column = <K extends keyof OutboxMessage>(key: K) => messages.map((m) => m[key]);
    const rows = await this.#run("insertOutbox", [
      column("taskName"),
      column("kind"),
      column("changeId"),
      column("channel"),
      column("recipient"),
      column("subject"),
      column("text"),
      column("payload"),
      messages.map((m) => toDate(m.createdAt)),
    ]);
    return rows.length;
  }

  async claim(request: OutboxClaim): Promise<OutboxEntry[]> {
    if (request.taskNames.length === 0 || request.limit < 1) return [];
    const rows = await this.#run<OutboxRow<Date>>("claimOutbox", [
      toDate(request.nowMs),
      request.nodeId,
      Math.floor(request.limit),
      toDate(request.nowMs + request.leaseMs),
      [...request.taskNames],
    ]);
    return rows.map((row) => outboxEntryOf(row, ms)).sort((a, b) => a.id - b.id);
  }

  async finish(id: number, nodeId: string, outcome: OutboxOutcome): Promise<boolean> {
    const pending = outcome.status === "pending";
    const rows = await this.#run("finishOutbox", [
      id,
      nodeId,
      outcome.status,
      pending ? null : toDate(outcome.atMs),
      pending ? toDate(outcome.nextAttemptAt) : null,
      outcome.error ?? null,
    ]);
    return rows.length > 0;
  }

  async window(
    taskName: string,
    channel: NotificationChannel,
    sinceMs: number,
  ): Promise<OutboxWindow> {
    const rows = await this.#run<OutboxWindow>("outboxWindow", [
      taskName,
      channel,
      toDate(sinceMs),
    ]);
    return { sent: Number(rows[0]?.sent ?? 0), held: Number(rows[0]?.held ?? 0) };
  }

  async list(query: OutboxQuery = {}): Promise<OutboxEntry[]> {
    const limit = Math.max(0, Math.floor(query.limit ?? 50));
    const rows =
      query.taskName === undefined
        ? await this.#run<OutboxRow<Date>>("selectOutbox", [limit])
        : await this.#run<OutboxRow<Date>>("selectTaskOutbox", [limit, query.taskName]);
    return rows.map((row) => outboxEntryOf(row, ms));
  }

  async prune(finishedBeforeMs: number, suppressedBeforeMs: number): Promise<number> {
    const rows = await this.#run("pruneOutbox", [
      toDate(finishedBeforeMs),
      toDate(suppressedBeforeMs),
    ]);
    return rows.length;
  }
}
