import { resolve } from "node:path";
import { CronSyntaxError, InvalidArgumentError } from "../errors.js";
import { parseCron } from "../cron/index.js";
import { TASK_LIMITS } from "../core/task-limits.js";
import { describeMs, toMs } from "../time/duration.js";
import { checkEnvRefs, findEnvRefs } from "./env-refs.js";
import { DEFAULT_MAX_REDIRECTS } from "./handlers/http-redirects.js";
import { moduleFileProblem } from "./module-checks.js";
import { MIN_FILE_EVERY_MS, type RawTask } from "./schedule-schema.js";
import { formatPath, type Problem } from "./schedule-issues.js";
import type { ActionSpec, TaskOptionsSpec, TriggerSpec } from "./schedule-spec.js";
import { suggest } from "./suggest.js";

type Path = readonly (string | number)[];

const TRIGGER_KEYS = ["schedule", "every", "at"] as const;
const ACTION_KEYS = ["command", "http", "module"] as const;
const COMMAND_ONLY_KEYS = ["shell", "cwd", "env", "stdin", "leftovers", "orphans"] as const;

/** Whether `zone` is an IANA zone this runtime knows. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A problem for an unknown zone at `path`, with a "did you mean". */
export function checkTimeZone(zone: unknown, path: Path): Problem[] {
  if (typeof zone !== "string" || isKnownTimeZone(zone)) return [];
  const hint = suggest(zone, Intl.supportedValuesOf("timeZone"));
  return [
    { path, message: `unknown time zone "${zone}"${hint ? `: did you mean "${hint}"?` : ""}` },
  ];
}

function present(task: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((key) => task[key] !== undefined);
}

function exactlyOne(
  task: Record<string, unknown>,
  keys: readonly string[],
  base: Path,
  what: string,
): Problem[] {
  const found = present(task, keys);
  if (found.length === 1) return [];
  const list = `\`${keys.slice(0, -1).join("`, `")}\` or \`${keys.at(-1) ?? ""}\``;
  if (found.length === 0)
    return [{ path: base, message: `the task needs ${what}: one of ${list}` }];
  return found.slice(1).map((key) => ({
    path: [...base, key],
    target: "key" as const,
    message: `\`${key}\` conflicts with \`${found[0] ?? ""}\`: a task has exactly one of ${list}`,
  }));
}

function envRefProblems(map: unknown, path: Path): Problem[] {
  if (map === null || typeof map !== "object") return [];
  const problems: Problem[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (typeof value !== "string") continue;
    const bad = checkEnvRefs(value);
    if (bad)
      problems.push({
        path: [...path, key],
        index: bad.offset,
        message: `\`${key}\`: ${bad.message}`,
      });
  }
  return problems;
}

function everyProblems(every: unknown, path: Path): Problem[] {
  if (typeof every !== "string" && typeof every !== "number") return [];
  const ms = toMs(every);
  if (!ms) {
    return [
      {
        path,
        message: `\`every\` must be a positive interval such as "90s", "5m", "1h30m" or a number of milliseconds, got ${JSON.stringify(every)}`,
      },
    ];
  }
  if (ms >= MIN_FILE_EVERY_MS && ms <= TASK_LIMITS.maxEveryMs) return [];
  return [
    {
      path,
      message: `\`every\` must be from ${describeMs(MIN_FILE_EVERY_MS)} to ${describeMs(TASK_LIMITS.maxEveryMs)}, got ${JSON.stringify(every)} (${describeMs(ms)})`,
    },
  ];
}

/**
 * Warnings for `${NAME}` references (in `env` and `http.headers`) to
 * variables that `isSet` says are not set: each run would fail until they are.
 */
export function unsetEnvRefWarnings(
  task: RawTask,
  base: Path,
  isSet: (name: string) => boolean,
): Problem[] {
  const maps: [Path, Readonly<Record<string, string>> | undefined][] = [
    [[...base, "env"], task.env],
    [[...base, "http", "headers"], task.http?.headers],
  ];
  const warnings: Problem[] = [];
  for (const [path, map] of maps) {
    for (const [key, value] of Object.entries(map ?? {})) {
      for (const ref of findEnvRefs(value)) {
        if (isSet(ref.name)) continue;
        warnings.push({
          path: [...path, key],
          index: ref.offset,
          message: `\`${formatPath([...path, key])}\` refers to \${${ref.name}}, which is not set: its runs will fail until it is`,
        });
      }
    }
  }
  return warnings;
}

/**
 * Checks that span several keys of one task, on the raw object so that they
 * are reported together with zod's findings: one trigger, one action, the
 * command-only keys, `shell` against the command's form, `every`, zones,
 * `startAt` before `endAt`, `${…}` syntax, and a body on GET.
 */
export function crossFieldProblems(task: Record<string, unknown>, base: Path): Problem[] {
  const problems = [
    ...exactlyOne(task, TRIGGER_KEYS, base, "a schedule"),
    ...exactlyOne(task, ACTION_KEYS, base, "an action"),
  ];
  if (task.command === undefined) {
    for (const key of present(task, COMMAND_ONLY_KEYS)) {
      problems.push({
        path: [...base, key],
        target: "key",
        message: `\`${key}\` applies only to \`command\` tasks`,
      });
    }
  } else if (typeof task.command === "string" && task.shell !== true) {
    problems.push({
      path: [...base, "command"],
      message:
        'a command written as one string runs in a shell: add `shell: true`, or write it as an argv list such as ["backup.sh", "--full"]',
    });
  } else if (Array.isArray(task.command) && task.shell === true) {
    problems.push({
      path: [...base, "shell"],
      target: "key",
      message:
        "`shell: true` needs the command written as one string (an argv list runs without a shell)",
    });
  }
  problems.push(...everyProblems(task.every, [...base, "every"]));
  problems.push(...checkTimeZone(task.timezone, [...base, "timezone"]));
  if (
    typeof task.startAt === "string" &&
    typeof task.endAt === "string" &&
    Date.parse(task.startAt) >= Date.parse(task.endAt)
  ) {
    problems.push({ path: [...base, "endAt"], message: "`endAt` must be later than `startAt`" });
  }
  problems.push(...envRefProblems(task.env, [...base, "env"]));
  const http = task.http as Record<string, unknown> | undefined;
  if (http !== null && typeof http === "object") {
    problems.push(...envRefProblems(http.headers, [...base, "http", "headers"]));
    const method = http.method ?? "GET";
    if (http.body !== undefined && (method === "GET" || method === "HEAD")) {
      problems.push({
        path: [...base, "http", "body"],
        target: "key",
        message: `a ${String(method)} request cannot have a \`body\``,
      });
    }
  }
  return problems;
}

/** Options of {@link buildTask}. */
export interface BuildContext {
  readonly base: Path;
  /** Folder that relative `cwd` and module paths are resolved against. */
  readonly baseDir: string;
  /** The file's top-level zone, inherited by tasks that set none. */
  readonly timezone: string | undefined;
  /** Wall-clock milliseconds, to ask whether a cron schedule still fires. */
  readonly now: () => number;
  /** Whether to report module files that do not exist. */
  readonly checkModules: boolean;
}

function zoneFor(
  task: Record<string, unknown>,
  fileZone: string | undefined,
): { zone: string | undefined; known: boolean } {
  const zone = typeof task.timezone === "string" ? task.timezone : fileZone;
  return { zone, known: zone === undefined || isKnownTimeZone(zone) };
}

/**
 * Checks what needs more than the schema, whenever the value has the right
 * type: the cron expression (syntax, with its column in the file, and that it
 * still fires after `now`) and that module files exist and are JS/TS modules.
 */
export function semanticProblems(task: Record<string, unknown>, context: BuildContext): Problem[] {
  const problems: Problem[] = [];
  if (typeof task.schedule === "string") {
    const path = [...context.base, "schedule"];
    const { zone, known } = zoneFor(task, context.timezone);
    try {
      const dayMatch = ["vixie", "or", "and"].includes(task.dayMatch as string)
        ? { dayMatch: task.dayMatch as "vixie" | "or" | "and" }
        : {};
      const cron = parseCron(task.schedule, known ? { timezone: zone, ...dayMatch } : dayMatch);
      if (known && cron.next(new Date(context.now())) === null) {
        problems.push({
          path,
          message: `the schedule "${task.schedule}" never fires (no date matches it from now on)`,
        });
      }
    } catch (error) {
      if (error instanceof CronSyntaxError)
        problems.push({ path, index: error.column, message: error.message });
      else if (error instanceof InvalidArgumentError)
        problems.push({ path, message: error.message });
      else throw error;
    }
  }
  const module = task.module as Record<string, unknown> | undefined;
  if (
    context.checkModules &&
    module !== null &&
    typeof module === "object" &&
    typeof module.path === "string"
  ) {
    const problem = moduleFileProblem(resolve(context.baseDir, module.path));
    if (problem !== undefined)
      problems.push({ path: [...context.base, "module", "path"], message: problem });
  }
  return problems;
}

function buildTrigger(task: RawTask): TriggerSpec {
  if (task.every !== undefined) return { kind: "every", intervalMs: toMs(task.every) ?? 0 };
  if (task.at !== undefined) return { kind: "at", at: new Date(task.at) };
  return { kind: "cron", expression: task.schedule ?? "" };
}

/** `followRedirects` as a count; absent when none are followed, so older fingerprints still match. */
function maxRedirectsOf(follow: boolean | number | undefined): { maxRedirects?: number } {
  const count = follow === true ? DEFAULT_MAX_REDIRECTS : follow || 0;
  return count > 0 ? { maxRedirects: count } : {};
}

function buildAction(task: RawTask, context: BuildContext): ActionSpec {
  if (task.http) {
    const { http } = task;
    const expect = http.expectStatus;
    return {
      kind: "http",
      method: http.method ?? "GET",
      url: http.url,
      headers: http.headers ?? {},
      ...(http.body === undefined ? {} : { body: http.body }),
      ...(expect === undefined
        ? {}
        : { expectStatus: typeof expect === "number" ? [expect] : expect }),
      ...((http.timeoutMs ?? task.timeoutMs)
        ? { timeoutMs: http.timeoutMs ?? task.timeoutMs }
        : {}),
      ...maxRedirectsOf(http.followRedirects),
    };
  }
  if (task.module) {
    return {
      kind: "module",
      path: resolve(context.baseDir, task.module.path),
      export: task.module.export ?? "default",
    };
  }
  const common = {
    kind: "command" as const,
    env: task.env ?? {},
    ...(task.cwd === undefined ? {} : { cwd: resolve(context.baseDir, task.cwd) }),
    ...(task.stdin === undefined ? {} : { stdin: task.stdin }),
    ...(task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }),
    // Only when written: an action's fields are part of the task's fingerprint.
    ...(task.leftovers === undefined ? {} : { leftovers: task.leftovers }),
    ...(task.orphans === undefined ? {} : { orphans: task.orphans }),
  };
  const command = task.command ?? "";
  if (typeof command === "string") return { ...common, shell: true, script: command };
  const [program = "", ...args] = command;
  return { ...common, shell: false, argv: [program, ...args] };
}

const PLAIN_OPTIONS = [
  "overlap",
  "misfire",
  "misfireGraceMs",
  "maxCatchUpRuns",
  "dayMatch",
  "dst",
  "jitterMs",
  "maxRuns",
  "keepLast",
  "timeoutMs",
] as const;

function buildOptions(task: RawTask): TaskOptionsSpec {
  const options: Record<string, unknown> = {};
  for (const key of PLAIN_OPTIONS) {
    if (task[key] !== undefined) options[key] = task[key];
  }
  if (task.retries !== undefined) {
    options.retries = typeof task.retries === "number" ? { attempts: task.retries } : task.retries;
  }
  if (task.startAt !== undefined) options.startAt = new Date(task.startAt);
  if (task.endAt !== undefined) options.endAt = new Date(task.endAt);
  return options;
}

/**
 * Turns a task that passed the schema, {@link crossFieldProblems} and
 * {@link semanticProblems} into the parts of its spec.
 */
export function buildTask(
  task: RawTask,
  context: BuildContext,
): {
  trigger: TriggerSpec;
  action: ActionSpec;
  options: TaskOptionsSpec;
  timezone: string | undefined;
} {
  return {
    trigger: buildTrigger(task),
    action: buildAction(task, context),
    options: buildOptions(task),
    timezone: task.timezone ?? context.timezone,
  };
}
