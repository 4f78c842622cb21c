import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import {
  buildTask,
  checkTimeZone,
  crossFieldProblems,
  semanticProblems,
} from "./schedule-checks.js";
import { checkHistoryMaxAge, parseHistoryMaxAge } from "./history-retention.js";
import { locateProblems, problemsFromIssues, type Problem } from "./schedule-issues.js";
import { rawDocumentSchema, rawTaskSchema } from "./schedule-schema.js";
import type { ScheduleFileError, ScheduleLoadResult, TaskSpec } from "./schedule-spec.js";
import { SourceLocator } from "./source-locator.js";

/** Options of {@link parseScheduleText}. */
export interface ParseScheduleOptions {
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
  /** Wall-clock time in ms since the epoch (a Clock's `now`), to check that cron schedules still fire. */
  readonly now: () => number;
  /**
   * Report `module.path` files that do not exist.
   * @defaultValue true
   */
  readonly checkModules?: boolean;
}

/** Options of {@link loadScheduleFile}: those of {@link parseScheduleText} but `file`. */
export type LoadScheduleOptions = Omit<ParseScheduleOptions, "file">;

const JSON_POSITION = /at position (\d+)/;

function jsonSyntaxProblem(text: string, error: unknown): { offset: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  const match = JSON_POSITION.exec(message);
  const offset = match ? Number(match[1]) : text.length;
  return {
    offset,
    message: `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/s, "")}`,
  };
}

function syntaxErrors(
  file: string,
  locator: SourceLocator,
  text: string,
  format: "yaml" | "json",
): { data: unknown; errors: ScheduleFileError[] } {
  const errors: ScheduleFileError[] = [];
  const document = locator.document;
  // After the first syntax error the parser's further errors are mostly its
  // consequences: report only the first (duplicate keys are all real).
  const duplicates = document.errors.filter((error) => error.code === "DUPLICATE_KEY");
  const firstOther = document.errors.find((error) => error.code !== "DUPLICATE_KEY");
  const yamlErrors = format === "yaml" && firstOther ? [firstOther] : duplicates;
  for (const error of yamlErrors) {
    const position = locator.position(error.pos[0]);
    const message =
      error.code === "DUPLICATE_KEY"
        ? "duplicate key: each key may appear once in a mapping"
        : (error.message.split("\n")[0] ?? "");
    errors.push({
      file,
      ...position,
      message: `${format === "json" ? "invalid JSON" : "invalid YAML"}: ${message}`,
      path: [],
    });
  }
  let data: unknown = null;
  if (format === "json") {
    try {
      data = JSON.parse(text) as unknown;
    } catch (error) {
      const problem = jsonSyntaxProblem(text, error);
      return {
        data,
        errors: [{ file, ...locator.position(problem.offset), message: problem.message, path: [] }],
      };
    }
  } else if (errors.length === 0) {
    data = document.toJS({ maxAliasCount: 100 }) as unknown;
  }
  return { data, errors };
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

/**
 * Validates schedule text (YAML or JSON) and returns typed task specs, or
 * every error found, each with the file, a 1-based line and column, and a
 * message (unknown keys get a "did you mean"). Never throws for bad input.
 *
 * The document is `{ timezone?, historyMaxAge?, tasks: [...] }`; see `examples/schedule.yaml`.
 */
export function parseScheduleText(text: string, options: ParseScheduleOptions): ScheduleLoadResult {
  const { file, now } = options;
  const format = options.format ?? (extname(file).toLowerCase() === ".json" ? "json" : "yaml");
  const locator = new SourceLocator(text);
  const { data, errors } = syntaxErrors(file, locator, text, format);
  if (errors.length > 0) return { ok: false, errors };
  if (data === null || data === undefined) {
    return {
      ok: false,
      errors: locateProblems(file, locator, [
        { path: [], message: "the file is empty: it needs a `tasks:` list" },
      ]),
    };
  }

  const top = rawDocumentSchema.safeParse(data);
  const problems: Problem[] = top.success ? [] : problemsFromIssues(top.error.issues, [], data);
  const record = (typeof data === "object" ? data : {}) as Record<string, unknown>;
  problems.push(...checkTimeZone(record.timezone, ["timezone"]));
  problems.push(...checkHistoryMaxAge(record.historyMaxAge, ["historyMaxAge"]));
  const rawTasks = Array.isArray(record.tasks) ? (record.tasks as unknown[]) : [];
  problems.push(...findDuplicateNames(rawTasks));

  const tasks: TaskSpec[] = [];
  const context = {
    baseDir: options.baseDir ?? dirname(resolve(file)),
    timezone: typeof record.timezone === "string" ? record.timezone : undefined,
    now,
    checkModules: options.checkModules ?? true,
  };
  rawTasks.forEach((raw, index) => {
    const base = ["tasks", index] as const;
    const parsed = rawTaskSchema.safeParse(raw);
    const taskProblems = parsed.success ? [] : problemsFromIssues(parsed.error.issues, base, data);
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
      taskProblems.push(...crossFieldProblems(raw as Record<string, unknown>, base));
      taskProblems.push(...semanticProblems(raw as Record<string, unknown>, { ...context, base }));
    }
    if (!parsed.success || taskProblems.length > 0 || problems.length > 0) {
      problems.push(...taskProblems);
      return;
    }
    const built = buildTask(parsed.data, { ...context, base });
    tasks.push({
      name: parsed.data.name,
      ...(parsed.data.description === undefined ? {} : { description: parsed.data.description }),
      ...built,
      ...(parsed.data.payload === undefined ? {} : { payload: parsed.data.payload }),
      position: locator.locate(base),
    });
  });

  if (problems.length > 0) return { ok: false, errors: locateProblems(file, locator, problems) };
  const sha256 = createHash("sha256").update(text, "utf8").digest("hex");
  const historyMaxAgeMs = parseHistoryMaxAge(record.historyMaxAge);
  return {
    ok: true,
    schedule: {
      file,
      tasks,
      sha256,
      ...(historyMaxAgeMs === undefined ? {} : { historyMaxAgeMs }),
    },
  };
}

/** Reads and validates a schedule file; see {@link parseScheduleText}. An unreadable file is an error at 1:1. */
export async function loadScheduleFile(
  file: string,
  options: LoadScheduleOptions,
): Promise<ScheduleLoadResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      errors: [
        { file, line: 1, column: 1, message: `cannot read the schedule file: ${reason}`, path: [] },
      ],
    };
  }
  return parseScheduleText(text, { ...options, file });
}

/** `file:line:column: message`, the format compilers use (editors make it a link). */
export function formatScheduleError(error: ScheduleFileError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.message}`;
}
