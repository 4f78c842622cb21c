import type { CallbackSealing } from "./callback-sealing.js";
import type { MisfirePolicy } from "../core/misfire.js";
import type { OverlapPolicy } from "../core/overlap.js";
import { scheduleFromSpec, type CronCache, type ScheduleSpec } from "../core/schedule.js";
import { Task, type CallbackInput, type ResolvedTaskOptions } from "../core/task.js";
import { DecryptionError, OrchestratorError } from "../errors.js";
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { CallbackRecord, CallbackRef, StoredTaskOptions, TaskRecord } from "../store/store.js";
import { callbackRefOf, storedOptionsOf } from "./task-record.js";

/** What a stored task is, apart from its run state: equal definitions make re-registering a no-op. */
export interface TaskDefinition {
  readonly schedule: ScheduleSpec;
  readonly options: StoredTaskOptions;
  readonly callback: CallbackRef;
  readonly payload: unknown;
}

/** The definition of an in-memory task. */
export function definitionOf(task: Task): TaskDefinition {
  return {
    schedule: task.schedule.toSpec(),
    options: storedOptionsOf(task.options),
    callback: callbackRefOf(task),
    payload: task.options.payload,
  };
}

/**
 * True when two definitions describe the same task: same schedule (an
 * interval's anchor, the registration instant, is ignored), same options,
 * same callback reference and the same payload as JSON (key order ignored).
 */
export function sameDefinition(a: TaskDefinition, b: TaskDefinition): boolean {
  return stableJson(comparable(a)) === stableJson(comparable(b));
}

function comparable(definition: TaskDefinition): unknown {
  const schedule =
    definition.schedule.kind === "interval"
      ? { kind: "interval", everyMs: definition.schedule.everyMs }
      : definition.schedule;
  return {
    schedule,
    options: definition.options,
    callback: definition.callback,
    payload: definition.payload,
  };
}

/** JSON with object keys sorted, so that equal values give equal text. */
export function stableJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, inner: unknown) => {
      if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(inner).sort())
        sorted[key] = (inner as Record<string, unknown>)[key];
      return sorted;
    }) ?? "undefined"
  );
}

/** Task options rebuilt from their stored form and the opened payload. */
export function optionsFromStored(
  stored: StoredTaskOptions,
  payload: unknown,
): ResolvedTaskOptions {
  return Object.freeze({
    timezone: stored.timezone ?? undefined,
    overlap: stored.overlap as OverlapPolicy,
    misfire: stored.misfire as MisfirePolicy,
    misfireGraceMs: stored.misfireGraceMs,
    maxCatchUpRuns: stored.maxCatchUpRuns,
    timeoutMs: stored.timeoutMs,
    retries: Object.freeze({ ...stored.retries }),
    startAtMs: stored.startAtMs ?? Number.NEGATIVE_INFINITY,
    endAtMs: stored.endAtMs ?? Number.POSITIVE_INFINITY,
    maxRuns: stored.maxRuns ?? Number.POSITIVE_INFINITY,
    keepLast: stored.keepLast ?? Number.POSITIVE_INFINITY,
    jitterMs: stored.jitterMs,
    payload,
    replace: false,
    noRunsLeft: "throw",
    dayMatch: (stored.dayMatch ?? undefined) as ResolvedTaskOptions["dayMatch"],
    dst: (stored.dst ?? undefined) as ResolvedTaskOptions["dst"],
  });
}

/** The callback a task restored from a record calls. */
function callbackOfRef(ref: CallbackRef, taskName: string): CallbackInput {
  switch (ref.kind) {
    case "handler":
      return ref.name;
    case "module":
      return { module: ref.module, export: ref.export };
    case "inline": {
      const error = new OrchestratorError(
        "ERR_INVALID_ARGUMENT",
        `Task ${JSON.stringify(taskName)} was stored with an inline function, which a store cannot keep; register it again with a handler name`,
      );
      return () => Promise.reject(error);
    }
  }
}

/** What restoring tasks needs from the Scheduler. */
export interface RestoreHost {
  readonly sealing: CallbackSealing;
  readonly cronCache: CronCache;
  readonly logger: Logger;
  hasHandler(name: string): boolean;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** A task rebuilt from the store, and its opened record (null when quarantined). */
export interface RestoredTask {
  readonly task: Task;
  readonly opened: CallbackRecord | null;
}

/**
 * Rebuilds the in-memory task of a stored record, with its run state
 * (`nextRunMs` is the stored next run, possibly in the past: the misfire
 * policy handles it when it is collected). A record that does not open is
 * quarantined: a task in state `quarantined` that never runs, reported by a
 * `task:quarantined` event and an error log. A handler not defined in this
 * process is reported by `task:handler-missing` and a warning; the task is
 * kept and its runs fail with a message naming the handler.
 */
export function restoreTask(host: RestoreHost, record: TaskRecord): RestoredTask {
  let opened: CallbackRecord | null = null;
  let failure: unknown;
  let schedule;
  try {
    schedule = scheduleFromSpec(record.schedule, host.cronCache);
  } catch (error) {
    failure = error;
  }
  if (failure === undefined) {
    try {
      opened = host.sealing.open(record.name, record.callback);
    } catch (error) {
      failure = error;
    }
  }
  if (opened === null || schedule === undefined) {
    return { task: quarantine(host, record, schedule, failure), opened: null };
  }
  const task = new Task(
    record.name,
    schedule,
    callbackOfRef(opened.callback, record.name),
    optionsFromStored(record.options, opened.payload),
  );
  applyProgress(task, record);
  if (opened.callback.kind === "handler" && !host.hasHandler(opened.callback.name)) {
    reportMissingHandler(host, record.name, opened.callback.name);
  }
  return { task, opened };
}

/** Copies the stored run state onto a task (`state` `quarantined` is never stored: read as `active`). */
export function applyProgress(task: Task, record: TaskRecord): void {
  task.restoreProgress({
    ...record,
    state: record.state === "quarantined" ? "active" : record.state,
  });
}

/** Reports a stored task whose handler this process does not define. */
export function reportMissingHandler(host: RestoreHost, taskName: string, handler: string): void {
  safeLog(
    host.logger,
    "warn",
    { taskName, handler },
    `Task ${JSON.stringify(taskName)} uses handler ${JSON.stringify(handler)}, which is not defined in this process; ` +
      `its runs fail until scheduler.defineHandler(${JSON.stringify(handler)}, fn) is called`,
  );
  host.emit("task:handler-missing", { taskName, handler });
}

function quarantine(
  host: RestoreHost,
  record: TaskRecord,
  schedule: ReturnType<typeof scheduleFromSpec> | undefined,
  error: unknown,
): Task {
  const reason = error instanceof DecryptionError ? error.reason : undefined;
  const refusal = new OrchestratorError(
    "ERR_DECRYPTION",
    `Task ${JSON.stringify(record.name)} is quarantined: its stored record could not be opened`,
    { cause: error },
  );
  const task = new Task(
    record.name,
    schedule ?? scheduleFromSpec({ kind: "once", atMs: record.createdAt }, host.cronCache),
    () => Promise.reject(refusal),
    optionsFromStored(record.options, undefined),
  );
  applyProgress(task, record);
  task.state = "quarantined";
  task.nextRunMs = Number.NaN;
  safeLog(
    host.logger,
    "error",
    { err: error, taskName: record.name, reason },
    `Task ${JSON.stringify(record.name)} quarantined: its stored callback record could not be opened` +
      (reason === undefined ? "" : ` (${reason})`) +
      "; it will not run in this process, and nothing was deleted",
  );
  host.emit("task:quarantined", { taskName: record.name, error, reason });
  return task;
}
