import {
  DEFAULT_TASK_OPTIONS,
  type CallbackInput,
  type ResolvedTaskOptions,
  type Task,
} from "../core/task.js";
import type {
  CallbackRef,
  StoredCallback,
  StoredTaskOptions,
  TaskProgress,
  TaskRecord,
} from "../store/store.js";

const INLINE_REF: CallbackRef = Object.freeze({ kind: "inline" });
const INLINE_NO_PAYLOAD: StoredCallback = Object.freeze({
  encoding: "plain",
  record: Object.freeze({ callback: INLINE_REF, payload: undefined }),
});

/** The callback reference of a task (what a durable store can keep). */
export function callbackRefOf(task: Task): CallbackRef {
  return callbackRefOfInput(task.callback);
}

/** The callback reference of a validated `registerTask` callback argument. */
export function callbackRefOfInput(callback: CallbackInput): CallbackRef {
  if (typeof callback === "function") return INLINE_REF;
  if (typeof callback === "string") return { kind: "handler", name: callback };
  return {
    kind: "module",
    module: callback.module instanceof URL ? callback.module.href : callback.module,
    export: callback.export ?? "default",
  };
}

/**
 * The unsealed callback record of a task. Tasks with an inline callback and no
 * payload share one frozen object, so a million of them cost nothing here.
 */
export function plainCallbackOf(task: Task): StoredCallback {
  const ref = callbackRefOf(task);
  if (ref === INLINE_REF && task.options.payload === undefined) return INLINE_NO_PAYLOAD;
  return { encoding: "plain", record: { callback: ref, payload: task.options.payload } };
}

function computeStoredOptions(options: ResolvedTaskOptions): StoredTaskOptions {
  return Object.freeze({
    timezone: options.timezone ?? null,
    overlap: options.overlap,
    misfire: options.misfire,
    misfireGraceMs: options.misfireGraceMs,
    maxCatchUpRuns: options.maxCatchUpRuns,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    startAtMs: Number.isFinite(options.startAtMs) ? options.startAtMs : null,
    endAtMs: Number.isFinite(options.endAtMs) ? options.endAtMs : null,
    maxRuns: Number.isFinite(options.maxRuns) ? options.maxRuns : null,
    ...(Number.isFinite(options.keepLast) ? { keepLast: options.keepLast } : {}),
    jitterMs: options.jitterMs,
    dayMatch: options.dayMatch ?? null,
    dst: options.dst ?? null,
  });
}

const DEFAULT_STORED_OPTIONS = computeStoredOptions(DEFAULT_TASK_OPTIONS);

/** The stored form of resolved options; tasks with default options share one object. */
export function storedOptionsOf(options: ResolvedTaskOptions): StoredTaskOptions {
  return options === DEFAULT_TASK_OPTIONS ? DEFAULT_STORED_OPTIONS : computeStoredOptions(options);
}

/** The run-state columns of a task now. */
export function progressOf(task: Task): TaskProgress {
  return {
    state: task.state,
    nextRunAt: Number.isNaN(task.nextRunMs) ? null : task.nextRunMs,
    lastRunAt: Number.isNaN(task.lastRunMs) ? null : task.lastRunMs,
    lastStatus: task.lastStatus,
    runCount: task.runCount,
  };
}

/** Builds the record `putTask` receives for a newly registered task. */
export function buildTaskRecord(task: Task, callback: StoredCallback, nowMs: number): TaskRecord {
  return {
    name: task.name,
    schedule: task.schedule.toSpec(),
    options: storedOptionsOf(task.options),
    callback,
    state: task.state,
    nextRunAt: Number.isNaN(task.nextRunMs) ? null : task.nextRunMs,
    lastRunAt: null,
    lastStatus: null,
    runCount: 0,
    createdAt: nowMs,
    version: 1,
  };
}
