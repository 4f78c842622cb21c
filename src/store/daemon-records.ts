/**
 * What the command-line daemon and the dashboard keep in a store beside tasks
 * and runs: the audit log of state-changing actions, the schedule file each
 * daemon applied, and which file added each task. None of it is secret: no
 * token, key or payload is ever written here.
 */

/** How a state-changing action ended. */
export type AuditResult = "ok" | "failed" | "refused";

/** One row of the audit log. */
export interface AuditEntry {
  /** When, epoch ms. */
  readonly at: number;
  /**
   * Who, never a secret: `admin:1a2b3c4d` or `read-only:1a2b3c4d` (the token's
   * role and the first 8 hex digits of its SHA-256), `cli:alice@host`, or
   * `daemon:<node id>` for a schedule file applied by `orchestrator run`.
   */
  readonly actor: string;
  /** What: `trigger`, `pause`, `resume`, `remove`, `add`, `change`, `rotate-keys`, … */
  readonly action: string;
  /** The task acted on; null for actions on no single task (key rotation). */
  readonly taskName: string | null;
  readonly result: AuditResult;
  /** A short note (why it was refused or failed, the run's outcome, the file); null when none. */
  readonly detail: string | null;
}

/** Parameters of {@link DaemonRecords.auditLog}: newest first. */
export interface AuditQuery {
  readonly taskName?: string;
  /** @defaultValue 50 */
  readonly limit?: number;
}

/** Audit retention: rows older than `maxAgeMs` or beyond the newest `maxRows` may be deleted. */
export interface AuditRetention {
  readonly maxAgeMs: number;
  readonly maxRows: number;
}

/** The longest text {@link appendAudit} keeps per field (longer text is cut, with `…`). */
export const AUDIT_FIELD_LIMITS = Object.freeze({
  actor: 200,
  action: 64,
  taskName: 512,
  detail: 1000,
});

/** The schedule file one daemon applied to the store, and when it was last seen running. */
export interface ScheduleFileRecord {
  /**
   * The daemon as a file applier, stable across its restarts: its `--node-id`
   * when given, else `<host>:<absolute path of the file>`. One record per source.
   */
  readonly source: string;
  /** The node id it runs as now (claims, history). */
  readonly nodeId: string;
  /** The file's absolute path on that host. */
  readonly path: string;
  /** Hex SHA-256 of the file's content as last applied. */
  readonly sha256: string;
  /** Epoch ms of the last apply. */
  readonly appliedAt: number;
  /** Epoch ms of the last sign of life (the daemon refreshes it while it runs). */
  readonly seenAt: number;
  /** Epoch ms of a clean stop, null while it runs (or after a crash). */
  readonly stoppedAt: number | null;
}

/** Which schedule file added (or last redefined) a task. */
export interface TaskOrigin {
  readonly taskName: string;
  /** {@link ScheduleFileRecord.source} of the daemon that wrote it. */
  readonly source: string;
  readonly nodeId: string;
  readonly path: string;
  /** Hex SHA-256 of the file content that defined it. */
  readonly sha256: string;
  /**
   * The task record's `createdAt` when the origin was recorded: every write of
   * a task changes it, so a task written again since (by another node, a
   * program, or removed and added back) no longer matches its origin.
   */
  readonly taskCreatedAt: number;
  /** Epoch ms. */
  readonly recordedAt: number;
}

/**
 * The records of {@link AuditEntry}, {@link ScheduleFileRecord} and
 * {@link TaskOrigin} a store keeps for the daemon and the dashboard (the
 * memory, SQLite and PostgreSQL stores all do: `store.records`). Errors are
 * StoreErrors, as for the rest of the store.
 */
/** `orchestrator cancel <task>` asking the daemons on the store to cancel the task's running runs. */
export interface CancelRequest {
  readonly taskName: string;
  /** Epoch ms (the asker's clock). */
  readonly requestedAt: number;
  /** Who asked (`cli:alice@host`). */
  readonly actor: string;
}

export interface DaemonRecords {
  /** Appends one audit row (kept as given: see {@link appendAudit} for the field limits). */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Audit rows, newest first (in the order they were appended). */
  auditLog(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Applies retention; returns how many rows were deleted. */
  pruneAudit(retention: AuditRetention): Promise<number>;
  /** Inserts or replaces the record of `record.source`. */
  putScheduleFile(record: ScheduleFileRecord): Promise<void>;
  /** Every schedule file record, by source. */
  scheduleFiles(): Promise<ScheduleFileRecord[]>;
  /** Inserts or replaces the origin of each task, in one transaction where the store can. */
  putTaskOrigins(origins: readonly TaskOrigin[]): Promise<void>;
  /** Forgets the origins of these tasks (those that have none are ignored). */
  deleteTaskOrigins(taskNames: readonly string[]): Promise<void>;
  /** Every task origin, by task name. */
  taskOrigins(): Promise<TaskOrigin[]>;
  /** Files a cancel request (replacing an earlier one for the task). Stores of migration 8. */
  requestCancel?(request: CancelRequest): Promise<void>;
  /** Every pending cancel request. */
  cancelRequests?(): Promise<CancelRequest[]>;
  /** Deletes the task's request if it is still the one filed at `requestedAt`; whether it was. */
  deleteCancelRequest?(taskName: string, requestedAt: number): Promise<boolean>;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Appends an audit row through `records`, with each text field cut to
 * {@link AUDIT_FIELD_LIMITS} (names from request paths can be long). Resolves
 * false, never rejects, when the store keeps no records or the write failed:
 * the action it describes has happened either way; `onError` hears why.
 */
export async function appendAudit(
  records: DaemonRecords | undefined,
  entry: AuditEntry,
  onError: (error: unknown) => void = () => {},
): Promise<boolean> {
  if (records === undefined) return false;
  try {
    await records.appendAudit({
      at: entry.at,
      actor: cut(entry.actor, AUDIT_FIELD_LIMITS.actor),
      action: cut(entry.action, AUDIT_FIELD_LIMITS.action),
      taskName: entry.taskName === null ? null : cut(entry.taskName, AUDIT_FIELD_LIMITS.taskName),
      result: entry.result,
      detail: entry.detail === null ? null : cut(entry.detail, AUDIT_FIELD_LIMITS.detail),
    });
    return true;
  } catch (error) {
    try {
      onError(error);
    } catch {
      // Contained: reporting a lost audit row must not fail the action.
    }
    return false;
  }
}
