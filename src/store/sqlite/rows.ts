import type { RunStatus, TaskState } from "../../core/task.js";
import type { ScheduleSpec } from "../../core/schedule.js";
import type {
  CallbackRecord,
  Claim,
  RunRecord,
  StoredCallback,
  StoredTaskOptions,
  TaskRecord,
} from "../store.js";

/** A `tasks` row as better-sqlite3 reads it (and as the statements bind it, camel-cased). */
export interface TaskRow {
  name: string;
  schedule: string;
  options: string;
  callback_encoding: string;
  callback_key_id: string | null;
  callback_bytes: Buffer | null;
  callback_json: string | null;
  state: string;
  next_run_at: number | null;
  last_run_at: number | null;
  last_status: string | null;
  run_count: number;
  created_at: number;
  updated_at: number;
  version: number;
}

/** The callback columns bound by the task statements. */
export interface CallbackParams {
  callbackEncoding: "plain" | "sealed";
  callbackKeyId: string | null;
  callbackBytes: Buffer | null;
  callbackJson: string | null;
}

/** A `claims` row. */
export interface ClaimRow {
  id: string;
  task_name: string;
  scheduled_at: number;
  manual: number;
  node_id: string;
  claimed_at: number;
  lease_expires_at: number;
  exclusive: number;
  token: number;
  process_group: number | null;
  process_start: string | null;
  /** Set on a claim taken over by a reap: the node of the attempt it stood for. */
  attempt_node: string | null;
}

/** A `run_history` row. */
export interface RunRow {
  task_name: string;
  claim_id: string | null;
  scheduled_at: number;
  started_at: number | null;
  finished_at: number | null;
  status: string;
  attempt: number;
  node_id: string;
  error: string | null;
  /** JSON text (schema version 2). */
  output: string | null;
  missed_through: number | null;
  missed_count: number | null;
}

/** A view of the same bytes as a Buffer, which is what better-sqlite3 binds as a BLOB. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Sealed bytes go to a BLOB untouched; plain records (test mode) to JSON, marked plain. */
export function callbackParams(callback: StoredCallback): CallbackParams {
  if (callback.encoding === "sealed") {
    return {
      callbackEncoding: "sealed",
      callbackKeyId: callback.keyId,
      callbackBytes: asBuffer(callback.bytes),
      callbackJson: null,
    };
  }
  return {
    callbackEncoding: "plain",
    callbackKeyId: null,
    callbackBytes: null,
    callbackJson: JSON.stringify(callback.record),
  };
}

function callbackOf(row: TaskRow): StoredCallback {
  if (row.callback_encoding === "sealed") {
    return {
      encoding: "sealed",
      keyId: row.callback_key_id ?? "",
      // A copy as a plain Uint8Array: callers compare and hand it to the sealer.
      bytes: new Uint8Array(row.callback_bytes ?? new Uint8Array(0)),
    };
  }
  const parsed = JSON.parse(row.callback_json ?? "{}") as CallbackRecord;
  return { encoding: "plain", record: { callback: parsed.callback, payload: parsed.payload } };
}

/** The parameters of INSERT_TASK / UPSERT_TASK. */
export function taskParams(record: TaskRecord, updatedAt: number): Record<string, unknown> {
  return {
    name: record.name,
    schedule: JSON.stringify(record.schedule),
    options: JSON.stringify(record.options),
    ...callbackParams(record.callback),
    state: record.state,
    nextRunAt: record.nextRunAt,
    lastRunAt: record.lastRunAt,
    lastStatus: record.lastStatus,
    runCount: record.runCount,
    createdAt: record.createdAt,
    updatedAt,
    version: record.version,
  };
}

/** A stored row back into the record `putTask` was given (with later updates applied). */
export function taskOf(row: TaskRow): TaskRecord {
  return {
    name: row.name,
    schedule: JSON.parse(row.schedule) as ScheduleSpec,
    options: JSON.parse(row.options) as StoredTaskOptions,
    callback: callbackOf(row),
    state: row.state as TaskState,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
    lastStatus: row.last_status as RunStatus | null,
    runCount: row.run_count,
    createdAt: row.created_at,
    version: row.version,
  };
}

export function claimOf(row: ClaimRow): Claim {
  return {
    id: row.id,
    taskName: row.task_name,
    scheduledAt: row.scheduled_at,
    nodeId: row.node_id,
    claimedAt: row.claimed_at,
    leaseExpiresAt: row.lease_expires_at,
    fencingToken: row.token,
    ...(row.process_group === null || row.process_start === null
      ? {}
      : { process: { pgid: row.process_group, startTime: row.process_start } }),
  };
}

/** The parameters of INSERT_RUN. */
export function runParams(record: RunRecord): Record<string, unknown> {
  return {
    taskName: record.taskName,
    claimId: record.claimId,
    scheduledAt: record.scheduledAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    status: record.status,
    attempt: record.attempt,
    nodeId: record.nodeId,
    error: record.error === null ? null : JSON.stringify(record.error),
    output: record.output === undefined ? null : JSON.stringify(record.output),
    missedThrough: record.missedThrough ?? null,
    missedCount: record.missedCount ?? null,
  };
}

export function runOf(row: RunRow): RunRecord {
  return {
    taskName: row.task_name,
    claimId: row.claim_id,
    scheduledAt: row.scheduled_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status as RunStatus,
    attempt: row.attempt,
    nodeId: row.node_id,
    error: row.error === null ? null : (JSON.parse(row.error) as RunRecord["error"]),
    ...(row.output === null ? {} : { output: JSON.parse(row.output) as unknown }),
    ...(row.missed_through === null ? {} : { missedThrough: row.missed_through }),
    ...(row.missed_count === null ? {} : { missedCount: row.missed_count }),
  };
}
