import type { CronOptions } from "../cron/index.js";
import { InvalidArgumentError } from "../errors.js";
import { parseDuration } from "../time/duration.js";
import { MISFIRE_POLICIES } from "./misfire.js";
import { OVERLAP_POLICIES } from "./overlap.js";
import { RETRY_DEFAULTS, type RetryPolicy } from "./retry.js";
import { TASK_LIMITS } from "./task-limits.js";
import {
  DEFAULT_TASK_OPTIONS,
  TASK_DEFAULTS,
  type CallbackInput,
  type ModuleHandler,
  type ResolvedTaskOptions,
  type TaskCallback,
} from "./task.js";

const KNOWN_OPTIONS = new Set<string>([
  "timezone",
  "overlap",
  "misfire",
  "misfireGraceMs",
  "maxCatchUpRuns",
  "timeoutMs",
  "retries",
  "startAt",
  "endAt",
  "maxRuns",
  "keepLast",
  "jitterMs",
  "payload",
  "replace",
  "noRunsLeft",
  "dayMatch",
  "dst",
]);

function oneOf<T extends string>(argument: string, allowed: readonly T[], value: unknown): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value))
    return value as T;
  throw new InvalidArgumentError(
    argument,
    `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
    value,
  );
}

function wholeNumber(argument: string, value: unknown, min: number): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min) return value;
  throw new InvalidArgumentError(argument, `a whole number from ${min} up`, value);
}

function instant(argument: string, value: unknown): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === "string"
        ? Date.parse(value)
        : (value as number);
  if (
    typeof ms === "number" &&
    Number.isFinite(ms) &&
    (typeof value !== "object" || value instanceof Date)
  )
    return ms;
  throw new InvalidArgumentError(
    argument,
    "a valid Date, epoch milliseconds or ISO 8601 string",
    value,
  );
}

const BACKOFF_RANGE = { maxMs: TASK_LIMITS.maxBackoffMs } as const;

function resolveRetries(value: unknown): Readonly<RetryPolicy> {
  if (typeof value === "number")
    return Object.freeze({ ...RETRY_DEFAULTS, attempts: wholeNumber("options.retries", value, 0) });
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(
      "options.retries",
      "a number of attempts or { attempts, backoffMs, factor, maxBackoffMs }",
      value,
    );
  }
  const input = value as Partial<Record<keyof RetryPolicy, unknown>>;
  for (const key of Object.keys(input)) {
    if (!(key in RETRY_DEFAULTS)) {
      throw new InvalidArgumentError(
        `options.retries.${key}`,
        "absent (known: attempts, backoffMs, factor, maxBackoffMs)",
        input[key as keyof RetryPolicy],
      );
    }
  }
  const attempts =
    input.attempts === undefined
      ? RETRY_DEFAULTS.attempts
      : wholeNumber("options.retries.attempts", input.attempts, 0);
  const backoffMs =
    input.backoffMs === undefined
      ? RETRY_DEFAULTS.backoffMs
      : parseDuration("options.retries.backoffMs", input.backoffMs, BACKOFF_RANGE);
  const maxBackoffMs =
    input.maxBackoffMs === undefined
      ? Math.max(RETRY_DEFAULTS.maxBackoffMs, backoffMs)
      : parseDuration("options.retries.maxBackoffMs", input.maxBackoffMs, BACKOFF_RANGE);
  const factor = input.factor ?? RETRY_DEFAULTS.factor;
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
    throw new InvalidArgumentError("options.retries.factor", "a finite number from 1 up", factor);
  }
  if (maxBackoffMs < backoffMs) {
    throw new InvalidArgumentError(
      "options.retries.maxBackoffMs",
      `a duration not below backoffMs (${backoffMs} ms)`,
      input.maxBackoffMs,
    );
  }
  return Object.freeze({ attempts, backoffMs, factor, maxBackoffMs });
}

function resolveDst(value: unknown): CronOptions["dst"] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(
      "options.dst",
      '{ gap?: "shift" | "skip", overlap?: "first" | "both" }',
      value,
    );
  }
  const { gap, overlap } = value as Record<string, unknown>;
  return Object.freeze({
    ...(gap === undefined ? {} : { gap: oneOf("options.dst.gap", ["shift", "skip"], gap) }),
    ...(overlap === undefined
      ? {}
      : { overlap: oneOf("options.dst.overlap", ["first", "both"], overlap) }),
  });
}

/**
 * Validates `registerTask` options and applies defaults. Throws
 * InvalidArgumentError naming the option (`options.overlap`, …), what was
 * expected and what was received. Unknown keys are refused (typos would
 * otherwise be silently ignored). Returns {@link DEFAULT_TASK_OPTIONS} when
 * `options` is undefined or empty.
 */
export function resolveTaskOptions(options: unknown): ResolvedTaskOptions {
  if (options === undefined) return DEFAULT_TASK_OPTIONS;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new InvalidArgumentError("options", "an object", options);
  }
  const o = options as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 0) return DEFAULT_TASK_OPTIONS;
  for (const key of keys) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidArgumentError(
        `options.${key}`,
        `absent (not a task option; known: ${[...KNOWN_OPTIONS].join(", ")})`,
        o[key],
      );
    }
  }
  if (o.timezone !== undefined && (typeof o.timezone !== "string" || o.timezone === "")) {
    throw new InvalidArgumentError(
      "options.timezone",
      'an IANA time zone name such as "Europe/Paris"',
      o.timezone,
    );
  }
  const startAtMs =
    o.startAt === undefined ? Number.NEGATIVE_INFINITY : instant("options.startAt", o.startAt);
  const endAtMs =
    o.endAt === undefined ? Number.POSITIVE_INFINITY : instant("options.endAt", o.endAt);
  if (endAtMs < startAtMs) {
    throw new InvalidArgumentError(
      "options.endAt",
      `an instant not before startAt (${new Date(startAtMs).toISOString()})`,
      o.endAt,
    );
  }
  if (o.payload !== undefined) checkSerializable(o.payload);
  if (o.replace !== undefined && typeof o.replace !== "boolean") {
    throw new InvalidArgumentError("options.replace", "a boolean", o.replace);
  }
  return Object.freeze({
    timezone: o.timezone,
    overlap:
      o.overlap === undefined
        ? TASK_DEFAULTS.overlap
        : oneOf("options.overlap", OVERLAP_POLICIES, o.overlap),
    misfire:
      o.misfire === undefined
        ? TASK_DEFAULTS.misfire
        : oneOf("options.misfire", MISFIRE_POLICIES, o.misfire),
    misfireGraceMs:
      o.misfireGraceMs === undefined
        ? TASK_DEFAULTS.misfireGraceMs
        : parseDuration("options.misfireGraceMs", o.misfireGraceMs, {
            maxMs: TASK_LIMITS.maxMisfireGraceMs,
          }),
    maxCatchUpRuns:
      o.maxCatchUpRuns === undefined
        ? TASK_DEFAULTS.maxCatchUpRuns
        : wholeNumber("options.maxCatchUpRuns", o.maxCatchUpRuns, 1),
    timeoutMs:
      o.timeoutMs === undefined
        ? TASK_DEFAULTS.timeoutMs
        : parseDuration("options.timeoutMs", o.timeoutMs, { maxMs: TASK_LIMITS.maxTimeoutMs }),
    retries: o.retries === undefined ? RETRY_DEFAULTS : resolveRetries(o.retries),
    startAtMs,
    endAtMs,
    maxRuns:
      o.maxRuns === undefined
        ? TASK_DEFAULTS.maxRuns
        : wholeNumber("options.maxRuns", o.maxRuns, 1),
    keepLast:
      o.keepLast === undefined
        ? TASK_DEFAULTS.keepLast
        : wholeNumber("options.keepLast", o.keepLast, 1),
    jitterMs:
      o.jitterMs === undefined
        ? TASK_DEFAULTS.jitterMs
        : parseDuration("options.jitterMs", o.jitterMs, { maxMs: TASK_LIMITS.maxJitterMs }),
    payload: o.payload,
    replace: o.replace === true,
    noRunsLeft:
      o.noRunsLeft === undefined
        ? TASK_DEFAULTS.noRunsLeft
        : oneOf("options.noRunsLeft", ["throw", "complete"], o.noRunsLeft),
    dayMatch:
      o.dayMatch === undefined
        ? undefined
        : oneOf("options.dayMatch", ["vixie", "or", "and"], o.dayMatch),
    dst: o.dst === undefined ? undefined : resolveDst(o.dst),
  });
}

function checkSerializable(payload: unknown): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new InvalidArgumentError(
      "options.payload",
      "JSON-serializable data",
      payload,
      (error as Error).message,
    );
  }
  if (text === undefined)
    throw new InvalidArgumentError("options.payload", "JSON-serializable data", payload);
}

/** Validates the callback argument of `registerTask`. */
export function checkCallback(callback: unknown): CallbackInput {
  if (typeof callback === "function") return callback as TaskCallback;
  if (typeof callback === "string" && callback !== "") return callback;
  if (callback !== null && typeof callback === "object" && !Array.isArray(callback)) {
    const { module, export: name } = callback as Record<string, unknown>;
    const moduleOk = (typeof module === "string" && module !== "") || module instanceof URL;
    if (!moduleOk)
      throw new InvalidArgumentError("callback.module", "a module path or URL", module);
    if (name !== undefined && (typeof name !== "string" || name === "")) {
      throw new InvalidArgumentError("callback.export", "the name of an exported function", name);
    }
    return callback as ModuleHandler;
  }
  throw new InvalidArgumentError(
    "callback",
    "a function, a handler name given to defineHandler(), or { module, export }",
    callback,
  );
}

/** Validates a task name. */
export function checkTaskName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError("name", "a non-empty string of at most 200 characters", name);
  }
  return name;
}
