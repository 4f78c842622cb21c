import {
  compileSchedule,
  describeScheduleInput,
  type CronCache,
  type Schedule,
  type ScheduleInput,
} from "../core/schedule.js";
import { checkCallback, checkTaskName, resolveTaskOptions } from "../core/task-options.js";
import { firstRunOf } from "../core/task-window.js";
import {
  Task,
  type CallbackInput,
  type ResolvedTaskOptions,
  type TaskCallback,
  type TaskOptions,
} from "../core/task.js";
import type { DurableTasks } from "../durable/durable-tasks.js";
import { DuplicateTaskError, InvalidArgumentError } from "../errors.js";
import type { RunEngine } from "../engine/run-engine.js";
import { checkZone } from "./scheduler-options.js";
import type { Store } from "../store/store.js";
import { callbackRefOfInput, storedOptionsOf } from "../durable/task-record.js";
import type { Clock } from "../time/clock.js";

/** What a {@link RegistrationValidator} needs from its Scheduler. */
export interface RegistrationHost {
  readonly clock: Clock;
  readonly store: Store;
  /** The default zone of cron tasks. */
  readonly timezone: string;
  readonly cronCache: CronCache;
  readonly engine: RunEngine;
  readonly durable: DurableTasks;
  readonly tasks: ReadonlyMap<string, Task>;
  readonly handlers: ReadonlyMap<string, TaskCallback>;
}

/**
 * What a valid `registerTask` call does: nothing when it repeats the
 * registered definition (`unchanged`); else it adds `task`, first due at
 * `firstRunMs` (null: registered `completed`, see `noRunsLeft`), in place of
 * `existing` if there is one.
 */
export type ValidRegistration =
  | { readonly kind: "unchanged"; readonly task: Task }
  | {
      readonly kind: "add";
      readonly task: Task;
      readonly existing: Task | undefined;
      readonly firstRunMs: number | null;
      /** The instant the schedule was compiled at. */
      readonly nowMs: number;
    };

/** What {@link checkTaskDefinition} needs besides the arguments. */
export interface DefinitionContext {
  /** The instant the schedule is compiled at, epoch ms. */
  readonly nowMs: number;
  /** The zone of cron tasks that set none. */
  readonly timezone: string;
  readonly cronCache: CronCache;
  /** Zones already checked (added to as zones pass), so that each is checked once. */
  readonly validZones?: Set<string>;
}

/** A `registerTask` call whose arguments are valid, taken apart. */
export interface CheckedDefinition {
  readonly callback: CallbackInput;
  readonly options: ResolvedTaskOptions;
  readonly schedule: Schedule;
  /** The first run; null when the task has none left (see {@link noRunsLeftError}). */
  readonly firstRunMs: number | null;
}

/**
 * The checks of `registerTask` that depend on its arguments and the time
 * alone (not on the tasks already registered): name, callback, options,
 * zone, schedule, and the first run. Throws CronSyntaxError and
 * InvalidArgumentError; a task with no run left is not an error here.
 */
export function checkTaskDefinition<Payload>(
  name: string,
  schedule: ScheduleInput,
  callback: CallbackInput<Payload>,
  options: TaskOptions<Payload> | undefined,
  context: DefinitionContext,
): CheckedDefinition {
  checkTaskName(name);
  const checked = checkCallback(callback);
  const resolved = resolveTaskOptions(options);
  let zone = context.timezone;
  if (resolved.timezone !== undefined) {
    zone = resolved.timezone;
    if (context.validZones?.has(zone) !== true) {
      checkZone("options.timezone", zone);
      context.validZones?.add(zone);
    }
  }
  const compiled = compileSchedule(schedule, {
    nowMs: context.nowMs,
    timezone: zone,
    cache: context.cronCache,
    startAtMs: Number.isFinite(resolved.startAtMs) ? resolved.startAtMs : undefined,
    dayMatch: resolved.dayMatch,
    dst: resolved.dst,
  });
  return {
    callback: checked,
    options: resolved,
    schedule: compiled,
    firstRunMs: firstRunOf(compiled, resolved, context.nowMs),
  };
}

/** What `registerTask` throws for a task with no run left (`noRunsLeft: "throw"`). */
export function noRunsLeftError(
  schedule: ScheduleInput,
  definition: CheckedDefinition,
  nowMs: number,
): InvalidArgumentError {
  const { options } = definition;
  if (
    definition.schedule.kind === "once" &&
    schedule instanceof Date &&
    schedule.getTime() < nowMs
  ) {
    return new InvalidArgumentError(
      "schedule",
      `a Date not in the past (now is ${new Date(nowMs).toISOString()})`,
      schedule,
    );
  }
  return new InvalidArgumentError(
    "schedule",
    "a schedule that fires at least once" +
      (Number.isFinite(options.endAtMs) ? " before endAt" : ""),
    schedule,
    `${describeScheduleInput(schedule)} has no run after ${new Date(Math.max(nowMs, options.startAtMs)).toISOString()}`,
  );
}

/**
 * The checks of `registerTask`: validates its arguments, compiles the
 * schedule and finds the first run, throwing (CronSyntaxError,
 * InvalidArgumentError, DuplicateTaskError) before anything changes.
 */
export class RegistrationValidator {
  readonly #host: RegistrationHost;
  /** Zones already checked, so that each is checked once. */
  readonly #validZones = new Set<string>();

  constructor(host: RegistrationHost) {
    this.#host = host;
    this.#validZones.add(host.timezone);
  }

  /** Checks one `registerTask` call; see {@link ValidRegistration}. */
  validate<Payload>(
    name: string,
    schedule: ScheduleInput,
    callback: CallbackInput<Payload>,
    options: TaskOptions<Payload> | undefined,
  ): ValidRegistration {
    const host = this.#host;
    const nowMs = host.clock.nowMs();
    const definition = checkTaskDefinition(name, schedule, callback, options, {
      nowMs,
      timezone: host.timezone,
      cronCache: host.cronCache,
      validZones: this.#validZones,
    });
    const { callback: checked, options: resolved, schedule: compiled, firstRunMs } = definition;
    const existing = host.tasks.get(name);
    if (existing !== undefined && !resolved.replace && existing.state === "quarantined")
      throw new DuplicateTaskError(name);
    if (typeof checked === "string" && !host.handlers.has(checked)) {
      throw new InvalidArgumentError(
        "callback",
        "a function, { module, export }, or the name of a handler given to defineHandler()",
        checked,
        "no handler of that name is defined",
      );
    }
    if (typeof checked === "function" && host.store.durable) {
      throw new InvalidArgumentError(
        "callback",
        `a handler name or { module, export } (the ${host.store.kind} store cannot keep a function)`,
        checked,
      );
    }
    if (existing !== undefined && !resolved.replace) {
      // Registering on every start is normal: the same definition is a no-op that keeps the run state.
      const stored = {
        schedule: compiled.toSpec(),
        options: storedOptionsOf(resolved),
        callback: callbackRefOfInput(checked),
        payload: resolved.payload,
      };
      if (host.durable.isSameAsExisting(existing, stored, checked))
        return { kind: "unchanged", task: existing };
      throw new DuplicateTaskError(name);
    }
    if (firstRunMs === null && resolved.noRunsLeft === "throw")
      throw noRunsLeftError(schedule, definition, nowMs);
    const task = new Task(name, compiled, checked, resolved);
    if (firstRunMs === null) task.state = "completed";
    return { kind: "add", task, existing, firstRunMs, nowMs };
  }
}
