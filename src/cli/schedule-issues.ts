import type * as z from "zod";
import { describeValue } from "../errors.js";
import { allowedKeysAt, EXPECTED } from "./schedule-schema.js";
import type { SourceLocator } from "./source-locator.js";
import type { ScheduleFileError } from "./schedule-spec.js";
import { suggest } from "./suggest.js";

/** A problem before it is given a file name: a path and a message, optionally a precise position. */
export interface Problem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** Point at the key rather than the value. */
  readonly target?: "key" | "value";
  /** An index inside the string value at `path` (a cron column). */
  readonly index?: number;
}

/** Turns problems into located errors, sorted by position. */
export function locateProblems(
  file: string,
  locator: SourceLocator,
  problems: readonly Problem[],
): ScheduleFileError[] {
  const seen = new Set<string>();
  const unique = problems.filter((problem) => {
    const key = `${JSON.stringify(problem.path)} ${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const errors = unique.map((problem): ScheduleFileError => {
    const position =
      problem.index === undefined
        ? locator.locate(problem.path, problem.target)
        : locator.locateInString(problem.path, problem.index);
    return {
      file,
      line: position.line,
      column: position.column,
      message: problem.message,
      path: problem.path,
    };
  });
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `command[1]`, `http.method`, `env.FOO`: a path for messages, relative to its task. */
export function formatPath(path: readonly (string | number)[]): string {
  const relative = path[0] === "tasks" && path.length > 2 ? path.slice(2) : path;
  let text = "";
  for (const segment of relative) {
    text += typeof segment === "number" ? `[${segment}]` : text === "" ? segment : `.${segment}`;
  }
  return text === "" ? "the document" : text;
}

function expectedFor(path: readonly (string | number)[]): string {
  const last = path.at(-1);
  const parent = path.at(-2);
  if (path.length === 0) return "a mapping with a `tasks:` list";
  if (path.length === 2 && path[0] === "tasks") return EXPECTED.task ?? "";
  if (typeof last === "number")
    return EXPECTED[`${String(parent)}[]`] ?? EXPECTED[String(parent)] ?? "valid";
  if (parent === "env" || parent === "headers") return EXPECTED[`${parent}.*`] ?? "a string";
  return EXPECTED[String(last)] ?? "valid";
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, segment)) {
      return { found: false, value: undefined };
    }
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return { found: true, value };
}

/**
 * Rewrites zod issues (paths relative to `base`) as problems with messages a
 * schedule-file author can act on: what the key expects, what it got, and a
 * "did you mean" for unknown keys and enum values.
 */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  base: readonly (string | number)[],
  data: unknown,
): Problem[] {
  const problems: Problem[] = [];
  // "unknown key `task`: did you mean `tasks`?" makes "missing `tasks`" redundant.
  const hinted = new Set<string>();
  const missing = new Set<Problem>();
  for (const issue of issues) {
    const path = [
      ...base,
      ...issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment)),
    ];
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(path);
      for (const key of issue.keys) {
        const hint = suggest(key, allowed);
        if (hint) hinted.add(JSON.stringify([...path, hint]));
        problems.push({
          path: [...path, key],
          target: "key",
          message:
            `unknown key \`${key}\`` +
            (hint
              ? `: did you mean \`${hint}\`?`
              : allowed.length <= 8
                ? ` (allowed: ${allowed.join(", ")})`
                : ""),
        });
      }
      continue;
    }
    const { found, value } = valueAt(data, path);
    const label = formatPath(path);
    if (!found && issue.code === "invalid_type") {
      const problem = { path, message: `missing \`${label}\`: expected ${expectedFor(path)}` };
      missing.add(problem);
      problems.push(problem);
      continue;
    }
    let message = `\`${label}\` must be ${expectedFor(path)}, got ${describeValue(value)}`;
    if (issue.code === "invalid_value" && typeof value === "string") {
      const hint = suggest(
        value,
        issue.values.filter((v): v is string => typeof v === "string"),
      );
      if (hint) message += `: did you mean "${hint}"?`;
    }
    problems.push({ path, message });
  }
  return problems.filter(
    (problem) => !missing.has(problem) || !hinted.has(JSON.stringify(problem.path)),
  );
}
