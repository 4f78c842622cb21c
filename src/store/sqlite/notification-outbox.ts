import type Database from "better-sqlite3";
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
import type { SqliteAccess } from "./daemon-records.js";
import { PreparedStatements } from "./prepared.js";
import * as sql from "./outbox-queries.js";

const same = (ms: number): number => ms;

/** The {@link NotificationOutbox} of the SqliteStore (the table of migration 7). */
export class SqliteNotificationOutbox implements NotificationOutbox {
  readonly #access: SqliteAccess;
  readonly #prepared = new PreparedStatements(sql);

  constructor(access: SqliteAccess) {
    this.#access = access;
  }

  #statements(db: Database.Database) {
    return this.#prepared.of(db);
  }

  enqueue(messages: readonly OutboxMessage[]): Promise<number> {
    if (messages.length === 0) return Promise.resolve(0);
    return this.#access.write(`enqueue ${messages.length} notifications`, (db) => {
      const insert = this.#statements(db).INSERT_OUTBOX;
      let added = 0;
      for (const message of messages)
        added += insert.run({ ...message, createdAt: Math.round(message.createdAt) }).changes;
      return added;
    });
  }

  claim(request: OutboxClaim): Promise<OutboxEntry[]> {
    if (request.taskNames.length === 0 || request.limit < 1) return Promise.resolve([]);
    return this.#access.write("claim notifications", (db) => {
      const rows = this.#statements(db).CLAIM_OUTBOX.all({
        nodeId: request.nodeId,
        now: Math.round(request.nowMs),
        leaseUntil: Math.round(request.nowMs + request.leaseMs),
        names: JSON.stringify(request.taskNames),
        limit: Math.floor(request.limit),
      }) as OutboxRow<number>[];
      return rows.map((row) => outboxEntryOf(row, same)).sort((a, b) => a.id - b.id);
    });
  }

  finish(id: number, nodeId: string, outcome: OutboxOutcome): Promise<boolean> {
    return this.#access.write("record a notification's delivery", (db) => {
      const pending = outcome.status === "pending";
      const changes = this.#statements(db).FINISH_OUTBOX.run({
        id,
        nodeId,
        status: outcome.status,
        finishedAt: pending ? null : Math.round(outcome.atMs),
        nextAttemptAt: pending ? Math.round(outcome.nextAttemptAt) : null,
        error: outcome.error ?? null,
      }).changes;
      return changes > 0;
    });
  }

  window(taskName: string, channel: NotificationChannel, sinceMs: number): Promise<OutboxWindow> {
    return this.#access.read("count recent notifications", (db) => {
      const row = this.#statements(db).OUTBOX_WINDOW.get({
        taskName,
        channel,
        since: Math.round(sinceMs),
      }) as OutboxWindow;
      return { sent: Number(row.sent), held: Number(row.held) };
    });
  }

  list(query: OutboxQuery = {}): Promise<OutboxEntry[]> {
    return this.#access.read("read the notification outbox", (db) => {
      const limit = Math.max(0, Math.floor(query.limit ?? 50));
      const statements = this.#statements(db);
      const rows =
        query.taskName === undefined
          ? statements.SELECT_OUTBOX.all(limit)
          : statements.SELECT_TASK_OUTBOX.all(query.taskName, limit);
      return (rows as OutboxRow<number>[]).map((row) => outboxEntryOf(row, same));
    });
  }

  prune(finishedBeforeMs: number, suppressedBeforeMs: number): Promise<number> {
    return this.#access.write(
      "prune the notification outbox",
      (db) =>
        this.#statements(db).PRUNE_OUTBOX.run({
          finishedBefore: Math.round(finishedBeforeMs),
          suppressedBefore: Math.round(suppressedBeforeMs),
        }).changes,
    );
  }
}
