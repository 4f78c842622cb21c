import { createHash } from "node:crypto";
import type { ScheduleInput } from "../core/schedule.js";
import type { CallbackInput, TaskOptions } from "../core/task.js";
import { DuplicateTaskError } from "../errors.js";
import type { Scheduler } from "../scheduler/index.js";
import {
  DAEMON_HANDLERS,
  DAEMON_MARK,
  isDaemonPayload,
  type DaemonPayload,
} from "./daemon-handlers.js";
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
  const options: TaskOptions = {};
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

/** What applying a schedule did, task names in file order. */
export interface ApplyResult {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  readonly unchanged: string[];
  readonly failed: { readonly name: string; readonly error: unknown }[];
}

/**
 * What the daemon applied so far: the fingerprint of each task it registered
 * (kept across reloads, so an unchanged task is not touched at all).
 */
export type AppliedState = Map<string, string>;

/** Options of {@link applySchedule}. */
export interface ApplyOptions {
  /**
   * Whether a task that is not in the file may be removed: only tasks this
   * daemon's file added (see `ScheduleOwnership.prepare`), never those of
   * another daemon's file or of a program sharing the store.
   */
  readonly mayRemove: (taskName: string) => boolean;
}

async function register(
  scheduler: Scheduler,
  registration: Registration,
  replace: boolean,
): Promise<void> {
  await scheduler.registerTask(registration.name, registration.schedule, registration.callback, {
    ...registration.options,
    replace,
  });
}

/**
 * Makes the scheduler's tasks what the file says: registers new tasks,
 * replaces changed ones (a run in flight finishes; the scheduler does not
 * start the old definition again), leaves identical ones and their state
 * alone, and removes tasks that are no longer in the file (see
 * {@link ApplyOptions.mayRemove}). A task that cannot be registered is
 * reported in `failed` and the others are applied.
 */
export async function applySchedule(
  scheduler: Scheduler,
  tasks: readonly TaskSpec[],
  state: AppliedState,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const result: ApplyResult = { added: [], changed: [], removed: [], unchanged: [], failed: [] };
  const names = new Set(tasks.map((task) => task.name));
  for (const spec of tasks) {
    const registration = toRegistration(spec);
    const existing = scheduler.getTask(spec.name);
    const knownPrint =
      state.get(spec.name) ??
      (isDaemonPayload(existing?.payload) ? existing.payload.fingerprint : undefined);
    try {
      if (existing?.state === "quarantined") {
        // Its record does not open with this key: replacing it would seal the
        // file's version with this (perhaps wrong) key, and other nodes of a
        // cluster could no longer open it.
        throw new Error(
          `task ${JSON.stringify(spec.name)} is quarantined (its stored record cannot be opened with this encryption key); it is left as it is: start with the right key, or remove the task from the store`,
        );
      }
      if (existing !== undefined && knownPrint === registration.fingerprint) {
        result.unchanged.push(spec.name);
      } else if (existing !== undefined && knownPrint !== undefined) {
        await register(scheduler, registration, true);
        result.changed.push(spec.name);
      } else {
        // Not known to be different (a new task, or a module task loaded from
        // the store): an identical re-registration keeps the stored task and
        // its state; a different one is refused as a duplicate, then replaced.
        try {
          await register(scheduler, registration, false);
          (existing === undefined ? result.added : result.unchanged).push(spec.name);
        } catch (error) {
          if (!(error instanceof DuplicateTaskError)) throw error;
          await register(scheduler, registration, true);
          result.changed.push(spec.name);
        }
      }
      state.set(spec.name, registration.fingerprint);
    } catch (error) {
      result.failed.push({ name: spec.name, error });
    }
  }
  for (const info of scheduler.listTasks()) {
    if (names.has(info.name) || info.state === "quarantined") continue;
    if (!options.mayRemove(info.name)) continue;
    try {
      await scheduler.unregisterTask(info.name);
      state.delete(info.name);
      result.removed.push(info.name);
    } catch (error) {
      result.failed.push({ name: info.name, error });
    }
  }
  return result;
}

/** `3 added, 1 changed, 0 removed, 2 unchanged` (and `, 1 failed` when any did). */
export function summarizeApply(result: ApplyResult): string {
  const parts = [
    `${result.added.length} added`,
    `${result.changed.length} changed`,
    `${result.removed.length} removed`,
    `${result.unchanged.length} unchanged`,
  ];
  if (result.failed.length > 0) parts.push(`${result.failed.length} failed`);
  return parts.join(", ");
}
