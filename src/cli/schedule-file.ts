import { createHash } from "node:crypto";
import { dirname, extname, resolve } from "node:path";
import { CronCache } from "../core/schedule.js";
import { processTimeZone } from "../time/zone.js";
import { moduleExportProblem } from "./module-checks.js";
import { registrationProblems, type RegistrationCheckContext } from "./registration-checks.js";
import {
  buildTask,
  checkTimeZone,
  crossFieldProblems,
  semanticProblems,
  unsetEnvRefWarnings,
} from "./schedule-checks.js";
import { locateProblems, problemsFromIssues, type Problem } from "./schedule-issues.js";
import { DEFAULT_MAX_SCHEDULE_BYTES, readScheduleText } from "./schedule-read.js";
import { rawDocumentSchema, rawTaskSchema } from "./schedule-schema.js";
import type { ScheduleFileError, ScheduleLoadResult, TaskSpec } from "./schedule-spec.js";
import { parseScheduleSyntax, type SyntaxLimits } from "./schedule-syntax.js";
import { SourceLocator } from "./source-locator.js";
import { checkHistoryMaxAge, parseHistoryMaxAge } from "./history-retention.js";
import { checkHeartbeat, type HeartbeatSpec } from "./heartbeat-spec.js";
import {
  channelProblem,
  mergeNotify,
  notifyProblems,
  unsetNotifyRefWarnings,
  type RawNotify,
} from "./notify/notify-schema.js";

/** Options of {@link parseScheduleText}. */
export interface ParseScheduleOptions extends SyntaxLimits {
  /** File name used in errors. */
  readonly file: string;
  /**
   * `json` parses strictly as JSON; `yaml` as YAML 1.2.
   * @defaultValue `json` when `file` ends in `.json`, else `yaml`
   */
  readonly format?: "yaml" | "json";
  /**
   * Folder that relative `cwd` and `module.path` values are resolved against.
   * @defaultValue the folder of `file`
   */
  readonly baseDir?: string;
  /** Wall-clock time in ms since the epoch (a Clock's `now`): what has passed, what still fires. */
  readonly now: () => number;
  /**
   * Check that `module.path` files exist and are JS/TS modules.
   * @defaultValue true
   */
  readonly checkModules?: boolean;
  /**
   * The names of the environment variables that are set: a `${NAME}`
   * reference to any other is warned about.
   * @defaultValue undefined (references are not checked)
   */
  readonly envNames?: readonly string[];
  /**
   * The zone of tasks that set none, as the Scheduler has it.
   * @defaultValue the process's zone
   */
  readonly defaultTimezone?: string;
}

/** Options of {@link loadScheduleFile}: those of {@link parseScheduleText} but `file`. */
export interface LoadScheduleOptions extends Omit<ParseScheduleOptions, "file"> {
  /**
   * The largest file read, in bytes.
   * @defaultValue 10 MiB ({@link DEFAULT_MAX_SCHEDULE_BYTES})
   */
  readonly maxBytes?: number;
}

/** A schedule text checked but not yet located: what {@link parseScheduleText} reports, before positions. */
interface Analysis {
  readonly file: string;
  readonly locator: SourceLocator;
  readonly errors: ScheduleFileError[];
  readonly problems: Problem[];
  readonly warnings: Problem[];
  readonly tasks: { readonly spec: TaskSpec; readonly index: number }[];
  /** Hex SHA-256 of the text: the file's identity in the store. */
  readonly sha256: string;
  /** The file's `historyMaxAge` in ms, when it says. */
  historyMaxAgeMs?: number;
  /** The file's `heartbeat`, when it has one. */
  heartbeat?: HeartbeatSpec;
}

function findDuplicateNames(tasks: readonly unknown[]): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  tasks.forEach((task, index) => {
    const name =
      task !== null && typeof task === "object" ? (task as { name?: unknown }).name : undefined;
    if (typeof name !== "string") return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, index);
    else
      problems.push({
        path: ["tasks", index, "name"],
        message: `duplicate task name "${name}" (first used by task ${first + 1})`,
      });
  });
  return problems;
}

function taskNotifyProblems(
  notify: RawNotify | undefined,
  fileNotify: RawNotify | undefined,
  base: readonly (string | number)[],
): Problem[] {
  if (notify === undefined) return [];
  const path = [...base, "notify"];
  return [...notifyProblems(notify, path), ...channelProblem(notify, fileNotify, path)];
}

function analyze(text: string, options: ParseScheduleOptions): Analysis {
  const { file } = options;
  const format = options.format ?? (extname(file).toLowerCase() === ".json" ? "json" : "yaml");
  const { locator, data, errors } = parseScheduleSyntax(file, text, format, options);
  const sha256 = createHash("sha256").update(text, "utf8").digest("hex");
  const analysis: Analysis = {
    file,
    locator,
    errors,
    problems: [],
    warnings: [],
    tasks: [],
    sha256,
  };
  if (errors.length > 0) return analysis;
  const { problems, warnings } = analysis;
  if (data === null || data === undefined) {
    problems.push({ path: [], message: "the file is empty: it needs a `tasks:` list" });
    return analysis;
  }

  const top = rawDocumentSchema.safeParse(data);
  if (!top.success) problems.push(...problemsFromIssues(top.error.issues, [], data));
  const record = (typeof data === "object" ? data : {}) as Record<string, unknown>;
  const zoneProblems = checkTimeZone(record.timezone, ["timezone"]);
  problems.push(...zoneProblems);
  const ageProblems = checkHistoryMaxAge(record.historyMaxAge, ["historyMaxAge"]);
  problems.push(...ageProblems);
  if (ageProblems.length === 0) {
    const historyMaxAgeMs = parseHistoryMaxAge(record.historyMaxAge);
    if (historyMaxAgeMs !== undefined) analysis.historyMaxAgeMs = historyMaxAgeMs;
  }
  const setNames = options.envNames;
  const heartbeat = checkHeartbeat(
    record.heartbeat,
    ["heartbeat"],
    setNames === undefined ? undefined : (name) => setNames.includes(name),
  );
  problems.push(...heartbeat.problems);
  warnings.push(...heartbeat.warnings);
  if (heartbeat.spec !== undefined) analysis.heartbeat = heartbeat.spec;
  const rawTasks = Array.isArray(record.tasks) ? (record.tasks as unknown[]) : [];
  problems.push(...findDuplicateNames(rawTasks));
  const fileNotify = top.success ? top.data.notify : undefined;
  if (fileNotify !== undefined) problems.push(...notifyProblems(fileNotify, ["notify"]));
  const envNames = options.envNames === undefined ? undefined : new Set(options.envNames);
  if (fileNotify !== undefined && envNames !== undefined)
    warnings.push(...unsetNotifyRefWarnings(fileNotify, ["notify"], (name) => envNames.has(name)));

  const nowMs = options.now();
  const context = {
    baseDir: options.baseDir ?? dirname(resolve(file)),
    timezone: typeof record.timezone === "string" ? record.timezone : undefined,
    now: () => nowMs,
    checkModules: options.checkModules ?? true,
  };
  const defaultTimezone = options.defaultTimezone ?? processTimeZone();
  const registrationContext: RegistrationCheckContext = {
    nowMs,
    timezone: defaultTimezone,
    cronCache: new CronCache(),
    validZones: new Set([defaultTimezone]),
  };
  rawTasks.forEach((raw, index) => {
    const base = ["tasks", index] as const;
    const parsed = rawTaskSchema.safeParse(raw);
    const taskProblems = parsed.success ? [] : problemsFromIssues(parsed.error.issues, base, data);
    if (parsed.success)
      taskProblems.push(...taskNotifyProblems(parsed.data.notify, fileNotify, base));
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
      taskProblems.push(...crossFieldProblems(raw as Record<string, unknown>, base));
      taskProblems.push(...semanticProblems(raw as Record<string, unknown>, { ...context, base }));
    }
    problems.push(...taskProblems);
    // A task is built, and checked as registerTask would, once its own keys are valid.
    if (!parsed.success || taskProblems.length > 0 || zoneProblems.length > 0) return;
    if (envNames !== undefined) {
      const isSet = (name: string): boolean => envNames.has(name);
      warnings.push(...unsetEnvRefWarnings(parsed.data, base, isSet));
      if (parsed.data.notify !== undefined)
        warnings.push(...unsetNotifyRefWarnings(parsed.data.notify, [...base, "notify"], isSet));
    }
    const notify = mergeNotify(parsed.data.notify, fileNotify);
    const spec: TaskSpec = {
      name: parsed.data.name,
      ...(parsed.data.description === undefined ? {} : { description: parsed.data.description }),
      ...buildTask(parsed.data, { ...context, base }),
      ...(parsed.data.payload === undefined ? {} : { payload: parsed.data.payload }),
      ...(notify === undefined ? {} : { notify }),
      ...(parsed.data.stuckAfterMs === undefined ? {} : { stuckAfterMs: parsed.data.stuckAfterMs }),
      position: locator.locate(base),
    };
    const checked = registrationProblems(spec, base, registrationContext);
    problems.push(...checked.errors);
    warnings.push(...checked.warnings);
    if (checked.errors.length === 0) analysis.tasks.push({ spec, index });
  });
  return analysis;
}

/** The errors and warnings of an analysis, located; the schedule when there is no error. */
function finish(analysis: Analysis): ScheduleLoadResult {
  const { file, locator } = analysis;
  const warnings = locateProblems(file, locator, analysis.warnings);
  const errors = [...analysis.errors, ...locateProblems(file, locator, analysis.problems)];
  if (errors.length > 0) return { ok: false, errors, warnings };
  const { sha256, historyMaxAgeMs, heartbeat } = analysis;
  const tasks = analysis.tasks.map((t) => t.spec);
  const schedule = {
    file,
    tasks,
    sha256,
    ...(historyMaxAgeMs === undefined ? {} : { historyMaxAgeMs }),
    ...(heartbeat === undefined ? {} : { heartbeat }),
  };
  return { ok: true, schedule, warnings };
}

/**
 * Validates schedule text (YAML or JSON) and returns typed task specs, or
 * every error found, each with the file, a 1-based line and column, and a
 * message (unknown keys get a "did you mean"); and warnings, for what will
 * not work as it stands without making the file wrong (a `${NAME}` not set,
 * a one-time `at` already past). Each task that is otherwise valid is also
 * checked exactly as `registerTask` will check it. Never throws for bad
 * input. Module exports are not checked here: see {@link checkScheduleFile}.
 *
 * The document is `{ timezone?, historyMaxAge?, tasks: [...] }`; see `examples/schedule.yaml`.
 */
export function parseScheduleText(text: string, options: ParseScheduleOptions): ScheduleLoadResult {
  return finish(analyze(text, options));
}

/** Reads `file` (refusing one over `maxBytes`) and analyzes it. */
async function analyzeFile(file: string, options: LoadScheduleOptions): Promise<Analysis> {
  const read = await readScheduleText(file, options.maxBytes ?? DEFAULT_MAX_SCHEDULE_BYTES);
  if (read.ok) return analyze(read.text, { ...options, file });
  return {
    file,
    locator: new SourceLocator(""),
    errors: [read.error],
    problems: [],
    warnings: [],
    tasks: [],
    sha256: "",
  };
}

/**
 * Reads and validates a schedule file; see {@link parseScheduleText}. An
 * unreadable file, or one over `maxBytes`, is an error at 1:1.
 */
export async function loadScheduleFile(
  file: string,
  options: LoadScheduleOptions,
): Promise<ScheduleLoadResult> {
  return finish(await analyzeFile(file, options));
}

/**
 * Everything `validate` and `run` check: {@link loadScheduleFile}, then, when
 * the file has no error, that each `module` task's module loads and exports
 * the function named by `module.export`. This imports the modules, so that
 * their top-level code runs: call it in a thread thrown away afterwards, as
 * `loadScheduleOffThread` does.
 */
export async function checkScheduleFile(
  file: string,
  options: LoadScheduleOptions,
): Promise<ScheduleLoadResult> {
  const analysis = await analyzeFile(file, options);
  if (analysis.errors.length > 0 || analysis.problems.length > 0) return finish(analysis);
  for (const { spec, index } of analysis.tasks) {
    if (spec.action.kind !== "module") continue;
    const problem = await moduleExportProblem(spec.action.path, spec.action.export);
    if (problem === undefined) continue;
    const exportPath = ["tasks", index, "module", "export"];
    analysis.problems.push({
      path: analysis.locator.has(exportPath) ? exportPath : ["tasks", index, "module", "path"],
      message: problem,
    });
  }
  return finish(analysis);
}

/** `file:line:column: message`, the format compilers use (editors make it a link). */
export function formatScheduleError(error: ScheduleFileError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.message}`;
}

/** `file:line:column: warning: message`. */
export function formatScheduleWarning(warning: ScheduleFileError): string {
  return formatScheduleError({ ...warning, message: `warning: ${warning.message}` });
}
