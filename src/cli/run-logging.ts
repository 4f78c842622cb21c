import type { TaskContext } from "../core/task.js";
import type { RunErrorEvent, RunSuccessEvent } from "../events.js";
import { ActionFailedError } from "../errors.js";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";
import type { CommandOutput, HttpOutput } from "./daemon-handlers.js";

function runKey(taskName: string, scheduledAt: Date, attempt: number): string {
  return `${taskName}\u0000${scheduledAt.getTime()}\u0000${attempt}`;
}

function outcomeFields(output: unknown): Record<string, unknown> {
  if (output === null || typeof output !== "object") return {};
  const fields: Record<string, unknown> = {};
  const o = output as Partial<CommandOutput & HttpOutput>;
  if ("exitCode" in o) fields.exitCode = o.exitCode;
  if (o.signal) fields.signal = o.signal;
  if (typeof o.status === "number") fields.status = o.status;
  if (o.leftovers) fields.leftovers = o.leftovers;
  return fields;
}

/**
 * Logs every run of a scheduler: one line when it starts, one when it
 * succeeds or fails (task, duration, exit code or HTTP status), and lines for
 * skipped runs and completed tasks (the scheduler logs missed runs, quarantined
 * tasks and its own errors itself). Returns `onOutput` for the daemon's handlers, which hands each
 * action's result to the success line.
 */
export function logRuns(
  scheduler: Scheduler,
  logger: Logger,
): (ctx: TaskContext, output: CommandOutput | HttpOutput) => void {
  const outputs = new Map<string, CommandOutput | HttpOutput>();
  // A batch's starts together, once its callbacks have all been called: out of their path.
  scheduler.on("runs:started", (events) => {
    for (const event of events) {
      const fields: Record<string, unknown> = { task: event.taskName };
      if (event.attempt > 1) fields.attempt = event.attempt;
      if (event.trigger !== "schedule") fields.trigger = event.trigger;
      safeLog(logger, "info", fields, "run started");
    }
  });
  /** The output a handler handed over for this run, taken out (none for functions: no key built). */
  const takeOutput = (event: RunSuccessEvent | RunErrorEvent) => {
    if (outputs.size === 0) return undefined;
    const key = runKey(event.taskName, event.scheduledAt, event.attempt);
    const output = outputs.get(key);
    outputs.delete(key);
    return output;
  };
  scheduler.on("run:success", (event) => {
    const fields: Record<string, unknown> = {
      task: event.taskName,
      durationMs: Math.round(event.durationMs),
    };
    const output = takeOutput(event);
    if (output !== undefined) Object.assign(fields, outcomeFields(output));
    safeLog(logger, "info", fields, "run succeeded");
  });
  scheduler.on("run:error", (event) => {
    takeOutput(event);
    const error = event.error;
    const details = error instanceof ActionFailedError ? outcomeFields(error.details) : {};
    safeLog(
      logger,
      "warn",
      {
        task: event.taskName,
        durationMs: Math.round(event.durationMs),
        ...details,
        ...(event.status === "timed-out" ? { status: "timed-out" } : {}),
        error: error instanceof Error ? error.message : String(error),
        ...(event.attempt > 1 ? { attempt: event.attempt } : {}),
        ...(event.willRetry && event.retryAt ? { retryAt: event.retryAt.toISOString() } : {}),
      },
      event.willRetry ? "run failed, will retry" : "run failed",
    );
  });
  scheduler.on("run:skipped", (event) => {
    safeLog(logger, "info", { task: event.taskName, reason: event.reason }, "run skipped");
  });
  scheduler.on("task:completed", (info) => {
    safeLog(logger, "info", { task: info.name }, "task completed: it has no runs left");
  });
  return (ctx, output) => {
    if (outputs.size > 10_000) outputs.clear();
    outputs.set(runKey(ctx.taskName, ctx.scheduledAt, ctx.attempt), output);
  };
}

/**
 * The logger given to the daemon's scheduler: the scheduler's own line for a
 * failed run is dropped, since {@link logRuns} writes a fuller one (duration,
 * exit code); everything else passes through.
 */
export function schedulerLogger(logger: Logger): Logger {
  return {
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => {
      const isRunFailure =
        "willRetry" in obj &&
        "taskName" in obj &&
        typeof msg === "string" &&
        msg.startsWith("Task ");
      if (!isRunFailure) logger.error(obj, msg);
    },
  };
}
