import type { QueryResultRow } from "pg";
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
import type { RecordQueryName } from "./record-queries.js";
import { toDate } from "./rows.js";

const ms = (date: Date): number => date.getTime();

/** Runs one records statement through the PostgresStore's pool (errors become StoreErrors). */
export type RecordRunner = <R extends QueryResultRow = QueryResultRow>(
  name: RecordQueryName,
  values: unknown[],
) => Promise<R[]>;

/** The {@link DaemonRecords} of the PostgresStore (tables of migration 3). */
export class PostgresDaemonRecords implements DaemonRecords {
  readonly #run: RecordRunner;

  constructor(run: RecordRunner) {
    this.#run = run;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#run("insertAudit", [
      toDate(entry.at),
      entry.actor,
      entry.action,
      entry.taskName,
      entry.result,
      entry.detail,
    ]);
  }

  async auditLog(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = Math.max(0, Math.floor(query.limit ?? 50));
    const rows =
      query.taskName === undefined
        ? await this.#run<AuditRow<Date>>("selectAudit", [limit])
        : await this.#run<AuditRow<Date>>("selectTaskAudit", [limit, query.taskName]);
    return rows.map((row) => auditOf(row, ms));
  }

  async pruneAudit(retention: AuditRetention): Promise<number> {
    // A null age deletes nothing by age; an OFFSET of null would mean 0 (delete every row).
    const rows = await this.#run<{ n: number }>("pruneAudit", [
      Number.isFinite(retention.maxAgeMs) ? retention.maxAgeMs : null,
      Number.isFinite(retention.maxRows)
        ? Math.max(0, Math.floor(retention.maxRows))
        : Number.MAX_SAFE_INTEGER,
    ]);
    return rows[0]?.n ?? 0;
  }

  async putScheduleFile(record: ScheduleFileRecord): Promise<void> {
    await this.#run("upsertScheduleFile", [
      record.source,
      record.nodeId,
      record.path,
      record.sha256,
      toDate(record.appliedAt),
      toDate(record.seenAt),
      toDate(record.stoppedAt),
    ]);
  }

  async scheduleFiles(): Promise<ScheduleFileRecord[]> {
    const rows = await this.#run<ScheduleFileRow<Date>>("selectScheduleFiles", []);
    return rows.map((row) => scheduleFileOf(row, ms));
  }

  async putTaskOrigins(origins: readonly TaskOrigin[]): Promise<void> {
    // One row per task: a statement may not update the same row twice.
    const byName = [...new Map(origins.map((origin) => [origin.taskName, origin])).values()];
    if (byName.length === 0) return;
    await this.#run("upsertTaskOrigins", [
      byName.map((o) => o.taskName),
      byName.map((o) => o.source),
      byName.map((o) => o.nodeId),
      byName.map((o) => o.path),
      byName.map((o) => o.sha256),
      byName.map((o) => toDate(o.taskCreatedAt)),
      byName.map((o) => toDate(o.recordedAt)),
    ]);
  }

  async deleteTaskOrigins(taskNames: readonly string[]): Promise<void> {
    if (taskNames.length === 0) return;
    await this.#run("deleteTaskOrigins", [[...taskNames]]);
  }

  async taskOrigins(): Promise<TaskOrigin[]> {
    const rows = await this.#run<TaskOriginRow<Date>>("selectTaskOrigins", []);
    return rows.map((row) => taskOriginOf(row, ms));
  }

  async requestCancel(request: CancelRequest): Promise<void> {
    await this.#run("upsertCancelRequest", [request.taskName, request.requestedAt, request.actor]);
  }

  async cancelRequests(): Promise<CancelRequest[]> {
    const rows = await this.#run<{ task_name: string; requested_at: string; actor: string }>(
      "selectCancelRequests",
      [],
    );
    return rows.map((row) => ({
      taskName: row.task_name,
      requestedAt: Number(row.requested_at),
      actor: row.actor,
    }));
  }

  async deleteCancelRequest(taskName: string, requestedAt: number): Promise<boolean> {
    return (await this.#run("deleteCancelRequest", [taskName, requestedAt])).length > 0;
  }
}
