import * as z from "zod";
import { DEFAULT_MAX_REDIRECTS, MAX_REDIRECTS_LIMIT } from "./handlers/http-redirects.js";
import { HISTORY_MAX_AGE_EXPECTED } from "./history-retention.js";
import { TASK_LIMITS } from "../core/task-limits.js";
import { describeMs } from "../time/duration.js";
import { NOTIFY_EXPECTED, notifyKeysAt, notifySchema } from "./notify/notify-schema.js";

/** The smallest `every` of a schedule file: 1 s (shorter floods the log with missed runs). */
export const MIN_FILE_EVERY_MS = 1_000;

const boundedMs = (minMs: number, maxMs: number) => z.number().int().min(minMs).max(maxMs);
const timeoutMs = boundedMs(1, TASK_LIMITS.maxTimeoutMs);
const backoffMs = boundedMs(0, TASK_LIMITS.maxBackoffMs);
const stringMap = z.record(z.string(), z.string());
const isoInstant = z.iso.datetime({ offset: true });

/** HTTP methods the `http` action accepts. */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** The `retries` object. */
export const retriesSchema = z.strictObject({
  attempts: z.number().int().min(0),
  backoffMs: backoffMs.optional(),
  factor: z.number().min(1).optional(),
  maxBackoffMs: backoffMs.optional(),
});

/** The `http` object. */
export const httpSchema = z.strictObject({
  method: z.enum(HTTP_METHODS).optional(),
  url: z.url({ protocol: /^https?$/ }),
  headers: stringMap.optional(),
  body: z.json().optional(),
  expectStatus: z
    .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
    .optional(),
  timeoutMs: timeoutMs.optional(),
  followRedirects: z
    .union([z.boolean(), z.number().int().min(0).max(MAX_REDIRECTS_LIMIT)])
    .optional(),
});

/** The `module` object. */
export const moduleSchema = z.strictObject({
  path: z.string().min(1),
  export: z.string().min(1).optional(),
});

/** One task as written in the file, before cross-field checks. */
export const rawTaskSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/),
  description: z.string().optional(),
  schedule: z.string().min(1).optional(),
  every: z.union([z.string(), z.number()]).optional(),
  at: isoInstant.optional(),
  timezone: z.string().min(1).optional(),
  command: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]).optional(),
  shell: z.boolean().optional(),
  cwd: z.string().min(1).optional(),
  env: stringMap.optional(),
  stdin: z.string().optional(),
  leftovers: z.enum(["stop", "keep"]).optional(),
  orphans: z.enum(["stop", "wait"]).optional(),
  http: httpSchema.optional(),
  module: moduleSchema.optional(),
  overlap: z.enum(["skip", "queue", "allow"]).optional(),
  misfire: z.enum(["run-once", "skip", "run-all"]).optional(),
  misfireGraceMs: boundedMs(0, TASK_LIMITS.maxMisfireGraceMs).optional(),
  maxCatchUpRuns: z.number().int().positive().optional(),
  retries: z.union([z.number().int().min(0), retriesSchema]).optional(),
  dayMatch: z.enum(["vixie", "or", "and"]).optional(),
  dst: z
    .strictObject({
      gap: z.enum(["shift", "skip"]).optional(),
      overlap: z.enum(["first", "both"]).optional(),
    })
    .optional(),
  jitterMs: boundedMs(0, TASK_LIMITS.maxJitterMs).optional(),
  startAt: isoInstant.optional(),
  endAt: isoInstant.optional(),
  maxRuns: z.number().int().positive().optional(),
  keepLast: z.number().int().positive().optional(),
  timeoutMs: timeoutMs.optional(),
  payload: z.json().optional(),
  notify: notifySchema.optional(),
  stuckAfterMs: z.number().int().min(1).optional(),
});

/** A task as written in the file. */
export type RawTask = z.infer<typeof rawTaskSchema>;

/** The document's top level; tasks are checked one by one with {@link rawTaskSchema}. */
export const rawDocumentSchema = z.strictObject({
  timezone: z.string().min(1).optional(),
  historyMaxAge: z.union([z.string(), z.number()]).optional(),
  /** Checked by `checkHeartbeat` (heartbeat-spec.ts). */
  heartbeat: z.unknown().optional(),
  notify: notifySchema.optional(),
  tasks: z.array(z.unknown()),
});

/**
 * What each key expects, in words, for error messages ("`jitterMs` must be
 * a whole number of milliseconds ≥ 0, got -5 (number)").
 */
export const EXPECTED: Readonly<Record<string, string>> = {
  tasks: "a list of tasks",
  task: "an object (a mapping of keys such as name, schedule, command)",
  name: "a name of letters, digits and . _ : - (at most 100, starting with a letter or digit)",
  description: "a string",
  schedule: 'a cron expression in quotes, e.g. "*/5 * * * *"',
  every: `an interval such as "90s", "5m", "1h30m" or a number of milliseconds, from ${describeMs(MIN_FILE_EVERY_MS)} to ${describeMs(TASK_LIMITS.maxEveryMs)}`,
  at: 'an ISO 8601 instant with a zone offset, e.g. "2030-01-01T09:00:00Z"',
  startAt: 'an ISO 8601 instant with a zone offset, e.g. "2030-01-01T09:00:00+01:00"',
  endAt: 'an ISO 8601 instant with a zone offset, e.g. "2030-01-01T09:00:00+01:00"',
  timezone: 'an IANA time zone such as "Europe/Berlin"',
  command: 'an argv list such as ["echo", "hello"], or a string together with `shell: true`',
  "command[]": "a non-empty string",
  shell: "true or false",
  cwd: "a directory path",
  env: "a mapping of variable names to strings (quote numbers)",
  "env.*": "a string (quote numbers and booleans)",
  stdin: "a string",
  leftovers:
    "one of stop, keep: what happens to processes the command leaves running in the background",
  orphans:
    "one of stop, wait: what a daemon restarted after a crash does with this command still running from before",
  http: "an object with at least `url`",
  method: `one of ${HTTP_METHODS.join(", ")}`,
  url: "an http:// or https:// URL",
  headers: "a mapping of header names to strings",
  "headers.*": "a string (quote numbers and booleans)",
  body: "a string or any JSON value",
  expectStatus: "an HTTP status (100–599) or a list of them",
  followRedirects: `true (up to ${DEFAULT_MAX_REDIRECTS} redirects), false, or the most redirects to follow (0–${MAX_REDIRECTS_LIMIT})`,
  module: "an object with `path` and optionally `export`",
  path: "a module path",
  export: "an export name",
  overlap: "one of skip, queue, allow (in `dst`: one of first, both)",
  misfire: "one of run-once, skip, run-all",
  misfireGraceMs: `a whole number of milliseconds from 0 to ${describeMs(TASK_LIMITS.maxMisfireGraceMs)}`,
  retries:
    "a number of retries, or an object with `attempts` and optionally backoffMs, factor, maxBackoffMs",
  maxCatchUpRuns: "a whole number ≥ 1",
  dayMatch: "one of vixie, or, and",
  dst: "an object with `gap` (shift or skip) and/or `overlap` (first or both)",
  gap: "one of shift, skip",
  attempts: "a whole number ≥ 0",
  backoffMs: `a whole number of milliseconds from 0 to ${describeMs(TASK_LIMITS.maxBackoffMs)}`,
  factor: "a number ≥ 1",
  maxBackoffMs: `a whole number of milliseconds from 0 to ${describeMs(TASK_LIMITS.maxBackoffMs)}, not below backoffMs`,
  jitterMs: `a whole number of milliseconds from 0 to ${describeMs(TASK_LIMITS.maxJitterMs)}`,
  maxRuns: "a whole number ≥ 1",
  keepLast: "a whole number ≥ 1 (the newest history rows of the task that are kept)",
  historyMaxAge: HISTORY_MAX_AGE_EXPECTED,
  timeoutMs: `a whole number of milliseconds from 1 to ${describeMs(TASK_LIMITS.maxTimeoutMs)}`,
  payload: "any JSON value",
  ...NOTIFY_EXPECTED,
};

/** The keys allowed in the object at `path`, for "did you mean" hints on unknown keys. */
export function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return Object.keys(rawDocumentSchema.shape);
  if (path[0] === "notify") return notifyKeysAt(path.slice(1));
  if (path[2] === "notify") return notifyKeysAt(path.slice(3));
  if (path.length === 2) return Object.keys(rawTaskSchema.shape);
  switch (path[2]) {
    case "http":
      return Object.keys(httpSchema.shape);
    case "module":
      return Object.keys(moduleSchema.shape);
    case "retries":
      return Object.keys(retriesSchema.shape);
    case "dst":
      return ["gap", "overlap"];
    default:
      return [];
  }
}
