import { createHash } from "node:crypto";
import type { ScheduleInput } from "../core/schedule.js";
import type { CallbackInput, TaskOptions } from "../core/task.js";
import { DAEMON_HANDLERS, DAEMON_MARK, type DaemonPayload } from "./daemon-handlers.js";
import type { TaskSpec } from "./schedule-spec.js";

/** The arguments of `registerTask` for one task of a schedule file. */
export interface Registration {
  readonly name: string;
  readonly schedule: ScheduleInput;
  readonly callback: CallbackInput;
  readonly options: TaskOptions;
  /** SHA-256 of the task's definition; equal fingerprints mean nothing changed. */
  readonly fingerprint: string;
}

/** A hash of everything in the file that defines the task (not its position in the file). */
export function fingerprintOf(spec: TaskSpec): string {
  const definition = {
    trigger: spec.trigger,
    timezone: spec.timezone ?? null,
    action: spec.action,
    options: spec.options,
    payload: spec.payload ?? null,
  };
  return createHash("sha256").update(JSON.stringify(definition)).digest("hex");
}

function scheduleOf(spec: TaskSpec): ScheduleInput {
  switch (spec.trigger.kind) {
    case "cron":
      return spec.trigger.expression;
    case "every":
      return { every: spec.trigger.intervalMs };
    case "at":
      return spec.trigger.at;
  }
}

function optionsOf(spec: TaskSpec): TaskOptions {
  const o = spec.options;
  // What time alone made stale (a one-time `at` past, an `endAt` past) is kept as completed.
  const options: TaskOptions = { noRunsLeft: "complete" };
  if (spec.timezone !== undefined) options.timezone = spec.timezone;
  if (o.overlap !== undefined) options.overlap = o.overlap;
  if (o.misfire !== undefined) options.misfire = o.misfire;
  if (o.misfireGraceMs !== undefined) options.misfireGraceMs = o.misfireGraceMs;
  if (o.maxCatchUpRuns !== undefined) options.maxCatchUpRuns = o.maxCatchUpRuns;
  if (o.retries !== undefined) options.retries = { ...o.retries };
  if (o.dayMatch !== undefined) options.dayMatch = o.dayMatch;
  if (o.dst !== undefined) options.dst = { ...o.dst };
  if (o.jitterMs !== undefined) options.jitterMs = o.jitterMs;
  if (o.startAt !== undefined) options.startAt = o.startAt;
  if (o.endAt !== undefined) options.endAt = o.endAt;
  if (o.maxRuns !== undefined) options.maxRuns = o.maxRuns;
  if (o.keepLast !== undefined) options.keepLast = o.keepLast;
  if (o.timeoutMs !== undefined) options.timeoutMs = o.timeoutMs;
  return options;
}

/**
 * Maps a task of a schedule file to `registerTask` arguments: cron, `every`
 * and `at` to the schedule; the file's options to task options; a command or
 * HTTP action to the daemon's handler with the action in the (sealed)
 * payload; a module action to `{ module, export }`, run in a worker thread
 * with the file's payload as `ctx.payload`.
 */
export function toRegistration(spec: TaskSpec): Registration {
  const fingerprint = fingerprintOf(spec);
  const options = optionsOf(spec);
  const action = spec.action;
  let callback: CallbackInput;
  if (action.kind === "module") {
    callback = { module: action.path, export: action.export };
    if (spec.payload !== undefined) options.payload = spec.payload;
  } else {
    callback = DAEMON_HANDLERS[action.kind];
    const payload: DaemonPayload = {
      managedBy: DAEMON_MARK,
      fingerprint,
      action,
      ...(spec.payload === undefined ? {} : { payload: spec.payload }),
    };
    options.payload = payload;
  }
  return { name: spec.name, schedule: scheduleOf(spec), callback, options, fingerprint };
}
