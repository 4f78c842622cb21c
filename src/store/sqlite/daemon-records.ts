import type Database from "better-sqlite3";
import type {
  CancelRequest,
  AuditEntry,
  AuditQuery,
  AuditRetention,
  DaemonRecords,
  ScheduleFileRecord,
  TaskOrigin,
} from "../daemon-records.js";
import {
  auditOf,
  scheduleFileOf,
  taskOriginOf,
  type AuditRow,
  type ScheduleFileRow,
  type TaskOriginRow,
} from "../record-rows.js";
import { PreparedStatements } from "./prepared.js";
import * as sql from "./record-queries.js";

/** How the records reach the SqliteStore's connection: its write queue and its reads. */
export interface SqliteAccess {
  /** Runs `fn` in the store's write queue (one `BEGIN IMMEDIATE` transaction). */
  write<T>(operation: string, fn: (db: Database.Database) => T): Promise<T>;
  /** Runs `fn` now, after the writes queued before it. */
  read<T>(operation: string, fn: (db: Database.Database) => T): Promise<T>;
  /** The store's clock, epoch ms. */
  now(): number;
}

/** SQLite keeps instants as epoch ms already. */
const same = (ms: number): number => ms;

/** The {@link DaemonRecords} of the SqliteStore (tables of migration 3). */
export class SqliteDaemonRecords implements DaemonRecords {
  readonly #access: SqliteAccess;
  readonly #prepared = new PreparedStatements(sql);

  constructor(access: SqliteAccess) {
    this.#access = access;
  }

  #statements(db: Database.Database) {
    return this.#prepared.of(db);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return this.#access.write("append an audit row", (db) => {
      this.#statements(db).INSERT_AUDIT.run({
        at: Math.round(entry.at),
        actor: entry.actor,
        action: entry.action,
        taskName: entry.taskName,
        result: entry.result,
        detail: entry.detail,
      });
    });
  }

  auditLog(query: AuditQuery = {}): Promise<AuditEntry[]> {
    return this.#access.read("read the audit log", (db) => {
      const limit = Math.max(0, Math.floor(query.limit ?? 50));
      const statements = this.#statements(db);
      const rows =
        query.taskName === undefined
          ? statements.SELECT_AUDIT.all(limit)
          : statements.SELECT_TASK_AUDIT.all(query.taskName, limit);
      return (rows as AuditRow<number>[]).map((row) => auditOf(row, same));
    });
  }

  pruneAudit(retention: AuditRetention): Promise<number> {
    return this.#access.write("prune the audit log", (db) => {
      const statements = this.#statements(db);
      let deleted = 0;
      if (Number.isFinite(retention.maxAgeMs)) {
        const oldest = this.#access.now() - retention.maxAgeMs;
        deleted += statements.PRUNE_AUDIT_BY_AGE.run({ oldest }).changes;
      }
      if (Number.isFinite(retention.maxRows)) {
        const maxRows = Math.max(0, Math.floor(retention.maxRows));
        deleted += statements.PRUNE_AUDIT_BY_ROWS.run({ maxRows }).changes;
      }
      return deleted;
    });
  }

  putScheduleFile(record: ScheduleFileRecord): Promise<void> {
    return this.#access.write("record a schedule file", (db) => {
      this.#statements(db).UPSERT_SCHEDULE_FILE.run({ ...record });
    });
  }

  scheduleFiles(): Promise<ScheduleFileRecord[]> {
    return this.#access.read("read the schedule files", (db) =>
      (this.#statements(db).SELECT_SCHEDULE_FILES.all() as ScheduleFileRow<number>[]).map((row) =>
        scheduleFileOf(row, same),
      ),
    );
  }

  putTaskOrigins(origins: readonly TaskOrigin[]): Promise<void> {
    return this.#access.write(`record the origin of ${origins.length} tasks`, (db) => {
      const upsert = this.#statements(db).UPSERT_TASK_ORIGIN;
      for (const origin of origins) upsert.run({ ...origin });
    });
  }

  deleteTaskOrigins(taskNames: readonly string[]): Promise<void> {
    return this.#access.write(`forget the origin of ${taskNames.length} tasks`, (db) => {
      const remove = this.#statements(db).DELETE_TASK_ORIGIN;
      for (const name of taskNames) remove.run(name);
    });
  }

  taskOrigins(): Promise<TaskOrigin[]> {
    return this.#access.read("read the task origins", (db) =>
      (this.#statements(db).SELECT_TASK_ORIGINS.all() as TaskOriginRow<number>[]).map((row) =>
        taskOriginOf(row, same),
      ),
    );
  }

  requestCancel(request: CancelRequest): Promise<void> {
    return this.#access.write("file a cancel request", (db) => {
      this.#statements(db).UPSERT_CANCEL_REQUEST.run({ ...request });
    });
  }

  cancelRequests(): Promise<CancelRequest[]> {
    return this.#access.read(
      "read the cancel requests",
      (db) => this.#statements(db).SELECT_CANCEL_REQUESTS.all() as CancelRequest[],
    );
  }

  deleteCancelRequest(taskName: string, requestedAt: number): Promise<boolean> {
    return this.#access.write(
      "delete a cancel request",
      (db) => this.#statements(db).DELETE_CANCEL_REQUEST.run(taskName, requestedAt).changes > 0,
    );
  }
}
