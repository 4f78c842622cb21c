import {
  compileSchedule,
  describeScheduleInput,
  type CronCache,
  type ScheduleInput,
} from "../core/schedule.js";
import { checkCallback, checkTaskName, resolveTaskOptions } from "../core/task-options.js";
import { Task, type CallbackInput, type TaskCallback, type TaskOptions } from "../core/task.js";
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
 * `firstRunMs`, in place of `existing` if there is one.
 */
export type ValidRegistration =
  | { readonly kind: "unchanged"; readonly task: Task }
  | {
      readonly kind: "add";
      readonly task: Task;
      readonly existing: Task | undefined;
      readonly firstRunMs: number;
      /** The instant the schedule was compiled at. */
      readonly nowMs: number;
    };

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
    checkTaskName(name);
    const checked = checkCallback(callback);
    const resolved = resolveTaskOptions(options);
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
    let zone = host.timezone;
    if (resolved.timezone !== undefined) {
      zone = resolved.timezone;
      if (!this.#validZones.has(zone)) this.#validZones.add(checkZone("options.timezone", zone));
    }
    const nowMs = host.clock.nowMs();
    const compiled = compileSchedule(schedule, {
      nowMs,
      timezone: zone,
      cache: host.cronCache,
      startAtMs: Number.isFinite(resolved.startAtMs) ? resolved.startAtMs : undefined,
      dayMatch: resolved.dayMatch,
      dst: resolved.dst,
    });
    if (existing !== undefined && !resolved.replace) {
      // Registering on every start is normal: the same definition is a no-op that keeps the run state.
      const definition = {
        schedule: compiled.toSpec(),
        options: storedOptionsOf(resolved),
        callback: callbackRefOfInput(checked),
        payload: resolved.payload,
      };
      if (host.durable.isSameAsExisting(existing, definition, checked))
        return { kind: "unchanged", task: existing };
      throw new DuplicateTaskError(name);
    }
    if (compiled.kind === "once" && schedule instanceof Date && schedule.getTime() < nowMs) {
      throw new InvalidArgumentError(
        "schedule",
        `a Date not in the past (now is ${new Date(nowMs).toISOString()})`,
        schedule,
      );
    }
    const firstRunMs = host.engine.firstRun(compiled, resolved, nowMs);
    if (firstRunMs === null) {
      throw new InvalidArgumentError(
        "schedule",
        "a schedule that fires at least once" +
          (Number.isFinite(resolved.endAtMs) ? " before endAt" : ""),
        schedule,
        `${describeScheduleInput(schedule)} has no run after ${new Date(Math.max(nowMs, resolved.startAtMs)).toISOString()}`,
      );
    }
    const task = new Task(name, compiled, checked, resolved);
    return { kind: "add", task, existing, firstRunMs, nowMs };
  }
}
