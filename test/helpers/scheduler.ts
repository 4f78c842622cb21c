import { Dispatcher, type DispatcherOptions } from "../../src/core/dispatcher.js";
import type { Logger } from "../../src/logger.js";
import { Scheduler, type SchedulerOptions } from "../../src/scheduler/index.js";
import { ManualClock } from "../../src/time/clock.js";
import { PLAN_AHEAD } from "./plan-ahead.js";

/** One captured log entry. */
export interface LogEntry {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps what it is given. */
export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => void entries.push({ level: "info", obj, msg }),
    warn: (obj, msg) => void entries.push({ level: "warn", obj, msg }),
    error: (obj, msg) => void entries.push({ level: "error", obj, msg }),
  };
}

/** A scheduler on a ManualClock at 2026-01-01T00:00:00Z (UTC), with a recording logger. */
export function manualScheduler(
  options: SchedulerOptions = {},
  dispatcherOptions: DispatcherOptions = {},
): {
  scheduler: Scheduler;
  clock: ManualClock;
  logger: ReturnType<typeof recordingLogger>;
  dispatcher: Dispatcher;
} {
  const clock =
    options.clock instanceof ManualClock ? options.clock : new ManualClock("2026-01-01T00:00:00Z");
  const logger = recordingLogger();
  const dispatcher = new Dispatcher(dispatcherOptions);
  const scheduler = new Scheduler(dispatcher, {
    clock,
    timezone: "UTC",
    logger,
    planAhead: PLAN_AHEAD,
    ...options,
  });
  return { scheduler, clock, logger, dispatcher };
}

/** Yields to the event loop `turns` times (lets promise chains settle; not a timed sleep). */
export async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}
