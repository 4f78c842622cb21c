import { visit } from "yaml";
import type { ScheduleFileError } from "./schedule-spec.js";
import { SourceLocator } from "./source-locator.js";

/** Limits on a schedule document's shape, against files built to exhaust memory or the stack. */
export interface SyntaxLimits {
  /**
   * Most levels of nested lists and mappings (the top-level mapping is level 1).
   * @defaultValue 64
   */
  readonly maxDepth?: number;
  /**
   * Most YAML alias expansions (`*name`), as the yaml package counts them.
   * @defaultValue 100
   */
  readonly maxAliasCount?: number;
}

/** The defaults of {@link SyntaxLimits}. */
export const SYNTAX_LIMITS = Object.freeze({
  maxDepth: 64,
  maxAliasCount: 100,
} satisfies Required<SyntaxLimits>);

/** The document's data and where its nodes are, or its syntax errors. */
export interface ScheduleSyntax {
  readonly locator: SourceLocator;
  /** The document's value (null when empty or invalid). */
  readonly data: unknown;
  readonly errors: ScheduleFileError[];
}

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

/**
 * The path of the first value nested deeper than `maxDepth` lists and
 * mappings, or undefined. Iterative, so that depth cannot overflow the stack.
 */
export function tooDeepPath(data: unknown, maxDepth: number): (string | number)[] | undefined {
  interface Entry {
    readonly value: unknown;
    readonly depth: number;
    readonly parent: Entry | undefined;
    readonly key: string | number | undefined;
  }
  const stack: Entry[] = [{ value: data, depth: 1, parent: undefined, key: undefined }];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { value, depth } = entry;
    if (value === null || typeof value !== "object") continue;
    if (depth > maxDepth) {
      const path: (string | number)[] = [];
      for (let at: Entry | undefined = entry; at?.key !== undefined; at = at.parent) {
        path.unshift(at.key);
      }
      return path;
    }
    const children: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i] as [string | number, unknown];
      if (child !== null && typeof child === "object")
        stack.push({ value: child, depth: depth + 1, parent: entry, key });
    }
  }
  return undefined;
}

function firstAliasOffset(locator: SourceLocator): number {
  let offset = 0;
  visit(locator.document, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/**
 * Parses schedule text as YAML 1.2 or strictly as JSON. Reports, each at its
 * position: the first syntax error (the parser's further ones are mostly its
 * consequences), every duplicate key, nesting deeper than `maxDepth`, and
 * more alias expansions than `maxAliasCount` (an "alias bomb").
 */
export function parseScheduleSyntax(
  file: string,
  text: string,
  format: "yaml" | "json",
  limits: SyntaxLimits = {},
): ScheduleSyntax {
  const maxDepth = limits.maxDepth ?? SYNTAX_LIMITS.maxDepth;
  const maxAliasCount = limits.maxAliasCount ?? SYNTAX_LIMITS.maxAliasCount;
  const locator = new SourceLocator(text);
  const label = format === "json" ? "invalid JSON" : "invalid YAML";
  const error = (offset: number, message: string): ScheduleFileError => ({
    file,
    ...locator.position(offset),
    message,
    path: [],
  });
  const document = locator.document;
  const duplicates = document.errors.filter((e) => e.code === "DUPLICATE_KEY");
  const firstOther = document.errors.find((e) => e.code !== "DUPLICATE_KEY");
  // JSON is parsed by JSON.parse; the YAML parse of it only gives positions (and duplicate keys).
  const yamlErrors = format === "yaml" && firstOther ? [firstOther] : duplicates;
  const errors = yamlErrors.map((e) =>
    error(
      e.pos[0],
      e.code === "DUPLICATE_KEY"
        ? `${label}: duplicate key: each key may appear once in a mapping`
        : e.code === "RESOURCE_EXHAUSTION"
          ? `${label}: nested too deeply to parse (at most ${maxDepth} levels of lists and mappings are allowed)`
          : `${label}: ${e.message.split("\n")[0] ?? ""}`,
    ),
  );
  let data: unknown = null;
  if (format === "json") {
    try {
      data = JSON.parse(text) as unknown;
    } catch (cause) {
      const problem = jsonSyntaxProblem(text, cause);
      return { locator, data: null, errors: [error(problem.offset, problem.message)] };
    }
  } else if (errors.length === 0) {
    try {
      data = document.toJS({ maxAliasCount }) as unknown;
    } catch (cause) {
      // toJS throws only for aliases: too many expansions, or one it cannot resolve.
      const message = cause instanceof Error ? cause.message : String(cause);
      return {
        locator,
        data: null,
        errors: [
          error(
            firstAliasOffset(locator),
            /alias count/i.test(message)
              ? `${label}: the aliases (*name) expand to too many nodes (more than ${maxAliasCount} expansions are refused, against "alias bombs")`
              : `${label}: ${message}`,
          ),
        ],
      };
    }
  }
  if (errors.length > 0) return { locator, data: null, errors };
  const deep = tooDeepPath(data, maxDepth);
  if (deep !== undefined) {
    const position = locator.locate(deep);
    return {
      locator,
      data: null,
      errors: [
        {
          file,
          ...position,
          message: `nested too deeply: at most ${maxDepth} levels of lists and mappings are allowed`,
          path: deep,
        },
      ],
    };
  }
  return { locator, data, errors };
}
