import type { CronCache } from "../core/schedule.js";
import { CronSyntaxError, InvalidArgumentError, describeValue } from "../errors.js";
import { checkTaskDefinition, type CheckedDefinition } from "../scheduler/task-registration.js";
import type { Problem } from "./schedule-issues.js";
import type { TaskSpec } from "./schedule-spec.js";
import { toRegistration } from "./to-registration.js";

type Path = readonly (string | number)[];

/** What {@link registrationProblems} needs besides the task. */
export interface RegistrationCheckContext {
  /** The instant of the check, epoch ms. */
  readonly nowMs: number;
  /** The zone of tasks that set none (the Scheduler's). */
  readonly timezone: string;
  readonly cronCache: CronCache;
  readonly validZones: Set<string>;
}

const TRIGGER_KEY = { cron: "schedule", every: "every", at: "at" } as const;

/** Where in the task an argument of `registerTask` came from. */
function pathOfArgument(argument: string, spec: TaskSpec, base: Path): Path {
  const [head, ...rest] = argument.split(".");
  if (head === "name") return [...base, "name"];
  if (head === "schedule") return [...base, TRIGGER_KEY[spec.trigger.kind]];
  if (head === "callback") return [...base, "module", rest[0] === "export" ? "export" : "path"];
  if (head === "options" && rest.length > 0) return [...base, ...rest];
  return base;
}

function problemOf(error: unknown, spec: TaskSpec, base: Path): Problem {
  if (error instanceof CronSyntaxError)
    return { path: [...base, "schedule"], index: error.column, message: error.message };
  if (error instanceof InvalidArgumentError) {
    const path = pathOfArgument(error.argument, spec, base);
    const key = path.slice(base.length).join(".") || "the task";
    return {
      path,
      message: `\`${key}\` must be ${error.expected}, got ${describeValue(error.received)}`,
    };
  }
  return { path: base, message: error instanceof Error ? error.message : String(error) };
}

/** A task with no run left: a warning when time alone made it so, else an error. */
function noRunsLeft(
  spec: TaskSpec,
  definition: CheckedDefinition,
  base: Path,
  nowMs: number,
): { error?: Problem; warning?: Problem } {
  const { startAtMs, endAtMs } = definition.options;
  const trigger = spec.trigger;
  if (trigger.kind === "at" && trigger.at.getTime() < nowMs) {
    return {
      warning: {
        path: [...base, "at"],
        message: `\`at\` ${trigger.at.toISOString()} has passed: the task is kept as completed and will not run`,
      },
    };
  }
  if (endAtMs < nowMs) {
    return {
      warning: {
        path: [...base, "endAt"],
        message: `\`endAt\` ${new Date(endAtMs).toISOString()} has passed: the task is kept as completed (ended) and will not run`,
      },
    };
  }
  const from = new Date(Math.max(nowMs, startAtMs)).toISOString();
  const until = Number.isFinite(endAtMs)
    ? ` and up to \`endAt\` ${new Date(endAtMs).toISOString()}`
    : "";
  return {
    error: {
      path: [...base, TRIGGER_KEY[trigger.kind]],
      message: `the task would never run: its schedule has no occurrence from ${from}${until}`,
    },
  };
}

/**
 * Runs the library's own checks of `registerTask` on the arguments the
 * daemon would pass for `spec` (built by the same `toRegistration`), so that
 * whatever registering would refuse is an error of the file, at the key it
 * comes from. A task that only time made stale (a one-time `at` or an
 * `endAt` already past) is a warning: it is registered as completed.
 */
export function registrationProblems(
  spec: TaskSpec,
  base: Path,
  context: RegistrationCheckContext,
): { errors: Problem[]; warnings: Problem[] } {
  const registration = toRegistration(spec);
  let definition: CheckedDefinition;
  try {
    definition = checkTaskDefinition(
      registration.name,
      registration.schedule,
      registration.callback,
      registration.options,
      context,
    );
  } catch (error) {
    return { errors: [problemOf(error, spec, base)], warnings: [] };
  }
  if (definition.firstRunMs !== null) return { errors: [], warnings: [] };
  const { error, warning } = noRunsLeft(spec, definition, base, context.nowMs);
  return { errors: error ? [error] : [], warnings: warning ? [warning] : [] };
}
