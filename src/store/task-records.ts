/** Tasks as a store keeps them: callback references, stored options, progress (part of the Store contract, re-exported by store.ts). */
import type { ScheduleSpec } from "../core/schedule.js";
import type { RunStatus, TaskState } from "../core/task.js";

/**
 * How a stored task refers to its callback. Functions cannot be stored, so a
 * durable task names a handler defined in code on every node, or a module and
 * export run in a worker thread. `inline` exists only in the memory store.
 */
export type CallbackRef =
  | { readonly kind: "inline" }
  | { readonly kind: "handler"; readonly name: string }
  | { readonly kind: "module"; readonly module: string; readonly export: string };

/** The callback reference plus the task's payload: the part of a task that is sealed at rest. */
export interface CallbackRecord {
  readonly callback: CallbackRef;
  readonly payload: unknown;
}

/**
 * A callback record as a store holds it. `plain` is kept readable (the memory
 * store, and test mode, which durable stores mark as such); `sealed` is opaque
 * bytes produced by the sealer (AES-256-GCM, src/crypto/): stores never look inside.
 */
export type StoredCallback =
  | { readonly encoding: "plain"; readonly record: CallbackRecord }
  | { readonly encoding: "sealed"; readonly keyId: string; readonly bytes: Uint8Array };

/**
 * Task options a store keeps (JSON-serializable; instants in epoch ms, with
 * null for "unset"). The payload is not here: it lives in the sealed record.
 */
export interface StoredTaskOptions {
  readonly timezone: string | null;
  readonly overlap: string;
  readonly misfire: string;
  readonly misfireGraceMs: number;
  readonly maxCatchUpRuns: number;
  readonly timeoutMs: number;
  readonly retries: {
    readonly attempts: number;
    readonly backoffMs: number;
    readonly factor: number;
    readonly maxBackoffMs: number;
  };
  readonly startAtMs: number | null;
  readonly endAtMs: number | null;
  readonly maxRuns: number | null;
  /** Absent when the task has no `keepLast` (records stored before it existed have none either). */
  readonly keepLast?: number;
  readonly jitterMs: number;
  readonly dayMatch: string | null;
  readonly dst: { readonly gap?: string; readonly overlap?: string } | null;
}

/** The run-state columns of a task, which change after every run. */
export interface TaskProgress {
  readonly state: TaskState;
  /** Next scheduled occurrence, epoch ms, null when none. */
  readonly nextRunAt: number | null;
  readonly lastRunAt: number | null;
  readonly lastStatus: RunStatus | null;
  readonly runCount: number;
}

/**
 * One task as stored. `version` increases on every write (optimistic
 * concurrency for shared stores); stores may keep an updated-at column of their own.
 */
export interface TaskRecord extends TaskProgress {
  /** Unique key; also the additional authenticated data of the sealed callback. */
  readonly name: string;
  readonly schedule: ScheduleSpec;
  readonly options: StoredTaskOptions;
  readonly callback: StoredCallback;
  readonly createdAt: number;
  readonly version: number;
}
