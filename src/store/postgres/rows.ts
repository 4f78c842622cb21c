/**
 * Conversions between the store's records and PostgreSQL rows: instants are
 * epoch ms in the records and Dates (timestamptz) in SQL; sealed callbacks are
 * BYTEA plus key id; plain callback records and task options are JSON text.
 */
import type { ScheduleSpec } from "../../core/schedule.js";
import type { RunStatus, TaskState } from "../../core/task.js";
import type {
  CallbackRecord,
  Claim,
  ReapedClaim,
  RunRecord,
  StoredCallback,
  StoredTaskOptions,
  TaskRecord,
} from "../store.js";

/** A `tasks` row as pg returns it. */
export interface TaskRow {
  name: string;
  schedule: ScheduleSpec;
  options: StoredTaskOptions;
  callback_encoding: "plain" | "sealed";
  callback_key_id: string | null;
  callback_bytes: Buffer | null;
  callback_plain: CallbackRecord | null;
  state: TaskState;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_status: RunStatus | null;
  run_count: number;
  created_at: Date;
  version: string;
}

/** A `claims` row as pg returns it. */
export interface ClaimRow {
  id: string;
  task_name: string;
  scheduled_at: Date;
  node_id: string;
  claimed_at: Date;
  lease_expires_at: Date | null;
  /** A bigint: pg reads it as text. */
  token: string;
  process_group: number | null;
  process_start: string | null;
  /** Returned by the claim statement only. */
  overlapping?: boolean;
}

/** A claim taken over by a reap, with the claim as its dead holder had it (`was_*`). */
export interface ReapedRow extends ClaimRow {
  was_id: string;
  was_node_id: string;
  was_claimed_at: Date;
  was_lease_expires_at: Date | null;
  was_token: string;
}

/** A `runs` row as pg returns it. */
export interface RunRow {
  task_name: string;
  claim_id: string | null;
  scheduled_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  status: RunStatus;
  attempt: number;
  node_id: string;
  error_message: string | null;
  error_stack: string | null;
  error_code: string | null;
  /** JSON text (schema version 2). */
  output: string | null;
  missed_through: Date | null;
  missed_count: number | null;
}

/** Epoch ms → Date for a parameter, keeping null. */
export function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

/** Date → epoch ms, keeping null. */
export function toMs(date: Date | null): number | null {
  return date === null ? null : date.getTime();
}

/** The callback columns ($encoding, $keyId, $bytes, $plain) of a stored callback. */
export function callbackParams(
  callback: StoredCallback,
): [string, string | null, Buffer | null, string | null] {
  if (callback.encoding === "sealed") {
    const bytes = Buffer.from(
      callback.bytes.buffer,
      callback.bytes.byteOffset,
      callback.bytes.byteLength,
    );
    return ["sealed", callback.keyId, bytes, null];
  }
  return ["plain", null, null, JSON.stringify(callback.record)];
}

/** The parameters $3.. of `insertTask` / `upsertTask`. */
export function taskParams(record: TaskRecord): unknown[] {
  return [
    record.name,
    JSON.stringify(record.schedule),
    JSON.stringify(record.options),
    ...callbackParams(record.callback),
    record.state,
    toDate(record.nextRunAt),
    toDate(record.lastRunAt),
    record.lastStatus,
    record.runCount,
    new Date(record.createdAt),
    record.version,
  ];
}

function callbackOf(row: TaskRow): StoredCallback {
  if (row.callback_encoding === "sealed") {
    // A copy as a plain Uint8Array: callers compare and hand it to the sealer, never a pooled Buffer.
    const bytes = row.callback_bytes ?? Buffer.alloc(0);
    return { encoding: "sealed", keyId: row.callback_key_id ?? "", bytes: new Uint8Array(bytes) };
  }
  // JSON drops an undefined payload: give the property back, as the record had it.
  const plain = row.callback_plain ?? { callback: { kind: "inline" }, payload: undefined };
  return { encoding: "plain", record: { callback: plain.callback, payload: plain.payload } };
}

/** A task row as a TaskRecord. */
export function taskOf(row: TaskRow): TaskRecord {
  return {
    name: row.name,
    schedule: row.schedule,
    options: row.options,
    callback: callbackOf(row),
    state: row.state,
    nextRunAt: toMs(row.next_run_at),
    lastRunAt: toMs(row.last_run_at),
    lastStatus: row.last_status,
    runCount: row.run_count,
    createdAt: row.created_at.getTime(),
    version: Number(row.version),
  };
}

/** A claim row as a Claim. */
/** The claim a dead process held, with the claim its reaper took over (see Store.reapExpiredClaims). */
export function reapedOf(row: ReapedRow): ReapedClaim {
  const takenOver = claimOf(row);
  return {
    ...takenOver,
    id: row.was_id,
    nodeId: row.was_node_id,
    claimedAt: row.was_claimed_at.getTime(),
    leaseExpiresAt: toMs(row.was_lease_expires_at),
    fencingToken: Number(row.was_token),
    takenOver,
  };
}

export function claimOf(row: ClaimRow): Claim {
  return {
    id: row.id,
    taskName: row.task_name,
    scheduledAt: row.scheduled_at.getTime(),
    nodeId: row.node_id,
    claimedAt: row.claimed_at.getTime(),
    leaseExpiresAt: toMs(row.lease_expires_at),
    fencingToken: Number(row.token),
    ...(row.overlapping === true ? { overlapping: true } : {}),
    ...(row.process_group === null || row.process_start === null
      ? {}
      : { process: { pgid: row.process_group, startTime: row.process_start } }),
  };
}

/** A history row to write, fenced by the claim it was made under (or not), releasing it (or not). */
export interface RunWrite {
  readonly record: RunRecord;
  readonly fence: Claim | null;
  readonly release: boolean;
}

/** The parallel-array parameters $1..$17 of `writeRuns`, one element per row, in order. */
export function writeRunsParams(writes: readonly RunWrite[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 17 }, () => []);
  for (const { record, fence, release } of writes) {
    const values = [
      record.taskName,
      record.claimId,
      new Date(record.scheduledAt),
      toDate(record.startedAt),
      toDate(record.finishedAt),
      record.status,
      record.attempt,
      record.nodeId,
      record.error?.message ?? null,
      record.error?.stack ?? null,
      record.error?.code ?? null,
      record.output === undefined ? null : JSON.stringify(record.output),
      toDate(record.missedThrough ?? null),
      record.missedCount ?? null,
      fence?.id ?? null,
      fence?.nodeId ?? null,
      release,
    ];
    values.forEach((value, i) => columns[i]?.push(value));
  }
  return columns;
}

/** The parallel-array parameters $1..$8 of `settleSlots`. */
export function settleSlotsParams(records: readonly RunRecord[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 8 }, () => []);
  for (const record of records) {
    const values = [
      record.taskName,
      new Date(record.scheduledAt),
      toDate(record.missedThrough ?? null),
      record.status,
      record.attempt,
      record.nodeId,
      record.error?.message ?? null,
      record.missedCount ?? null,
    ];
    values.forEach((value, i) => columns[i]?.push(value));
  }
  return columns;
}

/** A history row as a RunRecord (optional error fields absent rather than undefined). */
export function runOf(row: RunRow): RunRecord {
  let error: RunRecord["error"] = null;
  if (row.error_message !== null) {
    error = {
      message: row.error_message,
      ...(row.error_stack === null ? {} : { stack: row.error_stack }),
      ...(row.error_code === null ? {} : { code: row.error_code }),
    };
  }
  return {
    taskName: row.task_name,
    claimId: row.claim_id,
    scheduledAt: row.scheduled_at.getTime(),
    startedAt: toMs(row.started_at),
    finishedAt: toMs(row.finished_at),
    status: row.status,
    attempt: row.attempt,
    nodeId: row.node_id,
    error,
    ...(row.output === null ? {} : { output: JSON.parse(row.output) as unknown }),
    ...(row.missed_through === null ? {} : { missedThrough: row.missed_through.getTime() }),
    ...(row.missed_count === null ? {} : { missedCount: row.missed_count }),
  };
}

/**
 * For a statement over `count` items that returns the 1-based positions
 * (`ord`) of those it wrote or found: whether each item came back, in order.
 */
export function returnedPositions(rows: readonly { ord: number }[], count: number): boolean[] {
  const returned = new Array<boolean>(count).fill(false);
  for (const { ord } of rows) returned[ord - 1] = true;
  return returned;
}
