import type { TaskContext } from "../core/task.js";
import { InvalidArgumentError } from "../errors.js";
import type { Scheduler } from "../scheduler/index.js";
import { runCommandAction, type CommandResult } from "./handlers/command.js";
import { runHttpAction, type HttpResult } from "./handlers/http.js";
import type { ProcessGroups } from "./handlers/process-groups.js";
import { runVariables } from "./child-env.js";
import type { ClaimRef } from "../store/store.js";
import type { CommandActionSpec, HttpActionSpec, JsonValue } from "./schedule-spec.js";
import { createDaemonRedactor, type SecretRedactor } from "./secret-redactor.js";

/** The handler names the daemon defines; a command or HTTP task refers to one of them. */
export const DAEMON_HANDLERS = Object.freeze({
  command: "orchestrator:command",
  http: "orchestrator:http",
} as const);

/** The mark in a task's payload that says the daemon registered it from a schedule file. */
export const DAEMON_MARK = "orchestrator-cli";

/**
 * The payload of a task the daemon registered from a schedule file. It holds
 * the whole action (command line, URL, headers with `${NAME}` references
 * unresolved), so the action is sealed at rest with the rest of the callback
 * record, and a fingerprint of the task's definition, so that an unchanged
 * task is recognised after a restart.
 */
export interface DaemonPayload {
  readonly managedBy: typeof DAEMON_MARK;
  /** SHA-256 of the task's definition in the schedule file (schedule, zone, action, options, payload). */
  readonly fingerprint: string;
  /** Absent for module tasks, whose payload goes to the module as is. */
  readonly action?: CommandActionSpec | HttpActionSpec;
  /** The task's `payload` from the file. */
  readonly payload?: JsonValue;
}

/** Whether a task payload was written by the daemon (see {@link DaemonPayload}). */
export function isDaemonPayload(value: unknown): value is DaemonPayload {
  return (
    value !== null &&
    typeof value === "object" &&
    (value as { managedBy?: unknown }).managedBy === DAEMON_MARK &&
    typeof (value as { fingerprint?: unknown }).fingerprint === "string"
  );
}

/** What a command run records as its output (also the `details` of its failure). */
export interface CommandOutput {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  /** Present when the command left processes running in its group: `stopped` or `kept`. */
  readonly leftovers?: "stopped" | "kept";
}

/** What an HTTP run records as its output. */
export interface HttpOutput {
  readonly status: number;
  readonly durationMs: number;
  readonly body: string;
  readonly bodyTruncated: boolean;
}

function commandOutput(result: CommandResult): CommandOutput {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    durationMs: Math.round(result.durationMs),
    stdout: result.stdout,
    stderr: result.stderr,
    stdoutBytes: result.stdoutBytes,
    stderrBytes: result.stderrBytes,
    ...(result.leftovers === "none" ? {} : { leftovers: result.leftovers }),
  };
}

function httpOutput(result: HttpResult): HttpOutput {
  return {
    status: result.status,
    durationMs: Math.round(result.durationMs),
    body: result.body,
    bodyTruncated: result.bodyTruncated,
  };
}

/** Options of {@link defineDaemonHandlers}. */
export interface DaemonHandlerOptions {
  /** Where `${NAME}` references are resolved from, at run time; commands inherit it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the daemon gives up waiting at shutdown: running commands are killed, requests cancelled. */
  readonly stopSignal: AbortSignal;
  /** Told each successful run's output, before the scheduler records it (for the log line). */
  readonly onOutput?: (ctx: TaskContext, output: CommandOutput | HttpOutput) => void;
  /**
   * Hides secrets in output tails, body previews and error messages; it also
   * learns the values of the `${NAME}` references of every task registered.
   * @defaultValue a redactor of the secrets in `env` ({@link createDaemonRedactor})
   */
  readonly redactor?: SecretRedactor;
  /**
   * Where commands register their process groups, so that an exit at once
   * can stop them. Once halted, runs in flight never settle: the exit path
   * records them `interrupted` instead.
   */
  readonly groups?: ProcessGroups;
  /**
   * Told each command's process group as soon as it is spawned, with the
   * claim of its run (see `commandProcessRecorder`).
   */
  readonly onCommandSpawn?: (claim: ClaimRef, pgid: number) => void;
}

/** The `${NAME}`-bearing values of an action: a command's `env`, an HTTP task's headers. */
function referenceValues(action: CommandActionSpec | HttpActionSpec): string[] {
  return Object.values(action.kind === "command" ? action.env : action.headers);
}

/**
 * Passes a handler's outcome on, unless the process is exiting at once
 * (`groups` halted): then the run is recorded `interrupted` by the exit path,
 * and an outcome recorded after that would contradict it.
 */
async function unlessHalted<T>(groups: ProcessGroups | undefined, run: Promise<T>): Promise<T> {
  try {
    return await run;
  } finally {
    if (groups?.halted === true) await new Promise<never>(() => {});
  }
}

/** The command action of a task's payload, when the daemon registered it as a command task. */
export function commandActionOf(payload: unknown): CommandActionSpec | undefined {
  return isDaemonPayload(payload) && payload.action?.kind === "command"
    ? payload.action
    : undefined;
}

function actionOf<K extends "command" | "http">(
  ctx: TaskContext,
  kind: K,
): Extract<CommandActionSpec | HttpActionSpec, { kind: K }> {
  const payload = ctx.payload;
  if (!isDaemonPayload(payload) || payload.action?.kind !== kind) {
    throw new InvalidArgumentError(
      "payload",
      `a ${kind} action written by orchestrator run`,
      payload,
      `task ${JSON.stringify(ctx.taskName)} refers to ${DAEMON_HANDLERS[kind]} without one`,
    );
  }
  return payload.action as Extract<CommandActionSpec | HttpActionSpec, { kind: K }>;
}

/**
 * Defines `orchestrator:command` and `orchestrator:http` on a scheduler: each
 * reads its action from the task payload, resolves `${NAME}` references at
 * run time, and returns the result (exit code, duration, output tails; HTTP
 * status, duration) as the run's output. A failure throws ActionFailedError,
 * whose `details` the scheduler records as the output.
 */
export function defineDaemonHandlers(scheduler: Scheduler, options: DaemonHandlerOptions): void {
  const redactor = options.redactor ?? createDaemonRedactor({ env: options.env });
  const learn = (payload: unknown): void => {
    if (isDaemonPayload(payload) && payload.action !== undefined)
      redactor.addReferencedValues(referenceValues(payload.action), options.env);
  };
  // Every task's references are learnt, not only the running one's, so that
  // a task printing another task's secret (children inherit the daemon's
  // environment) is redacted too: the tasks there are at the first run
  // (loaded from the store, or applied from the file), then each one
  // registered later, then each run's own.
  let learntAll = false;
  const learnFor = (ctx: TaskContext): void => {
    if (!learntAll) {
      learntAll = true;
      for (const task of scheduler.listTasks()) learn(task.payload);
    }
    learn(ctx.payload);
  };
  scheduler.on("task:registered", (info) => learn(info.payload));
  const { groups } = options;
  const actionOptions = (ctx: TaskContext) => ({
    signal: AbortSignal.any([ctx.signal, options.stopSignal]),
    env: options.env,
    // The task name, not the command line: messages go into the run history
    // unsealed, and a command line may hold secrets.
    label: ctx.taskName,
    redactor,
  });
  const { onCommandSpawn } = options;
  scheduler.defineHandler(DAEMON_HANDLERS.command, async (ctx) => {
    const action = actionOf(ctx, "command");
    learnFor(ctx);
    // Read field by field: the context's fields are getters, which a spread would lose.
    const run = {
      taskName: ctx.taskName,
      scheduledAt: ctx.scheduledAt,
      attempt: ctx.attempt,
      fencingToken: ctx.fencingToken,
      nodeId: scheduler.nodeId,
    };
    const result = await unlessHalted(
      groups,
      runCommandAction(action, {
        ...actionOptions(ctx),
        ...(groups === undefined ? {} : { groups }),
        runEnv: runVariables(run),
        ...(onCommandSpawn === undefined ? {} : { onSpawn: (pid) => onCommandSpawn(run, pid) }),
      }),
    );
    const output = commandOutput(result);
    options.onOutput?.(ctx, output);
    return output;
  });
  scheduler.defineHandler(DAEMON_HANDLERS.http, async (ctx) => {
    const action = actionOf(ctx, "http");
    learnFor(ctx);
    const result = await unlessHalted(groups, runHttpAction(action, actionOptions(ctx)));
    const output = httpOutput(result);
    options.onOutput?.(ctx, output);
    return output;
  });
}
