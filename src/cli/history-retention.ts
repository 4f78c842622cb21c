import { InvalidArgumentError } from "../errors.js";
import { toMs } from "../time/duration.js";
import type { Problem } from "./schedule-issues.js";

/** How long the daemon keeps run history when neither the flag nor the file says: 30 days, in ms. */
export const DEFAULT_HISTORY_MAX_AGE_MS = 30 * 86_400_000;

/** What `--history-max-age` and the file's `historyMaxAge` accept, in words. */
export const HISTORY_MAX_AGE_EXPECTED =
  'a duration such as "30d", "12h" or "90m", a number of milliseconds, or 0 or "off" to keep all history';

/**
 * Reads a history age bound: a {@link Duration} (`"30d"`, `"12h"`, a number
 * of ms) or `"off"`; 0 and `"off"` mean no bound. Undefined when it is not one.
 */
export function parseHistoryMaxAge(value: unknown): number | undefined {
  if (typeof value === "string" && value.trim().toLowerCase() === "off") return 0;
  return toMs(value);
}

/** `--history-max-age`, checked; undefined when the flag was not given. */
export function historyMaxAgeFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseHistoryMaxAge(value);
  if (ms === undefined) {
    throw new InvalidArgumentError("--history-max-age", HISTORY_MAX_AGE_EXPECTED, value);
  }
  return ms;
}

/** A problem for a schedule file's `historyMaxAge` text or number that is not an age bound (the schema reports other types). */
export function checkHistoryMaxAge(value: unknown, path: readonly (string | number)[]): Problem[] {
  if (typeof value !== "string" && typeof value !== "number") return [];
  if (parseHistoryMaxAge(value) !== undefined) return [];
  return [
    {
      path,
      message: `\`historyMaxAge\` must be ${HISTORY_MAX_AGE_EXPECTED}, got ${JSON.stringify(value)}`,
    },
  ];
}

/**
 * The daemon's history age bound in ms: the flag's, else the file's, else
 * {@link DEFAULT_HISTORY_MAX_AGE_MS}; 0 means history is kept.
 */
export function effectiveHistoryMaxAge(
  flagMs: number | undefined,
  fileMs: number | undefined,
): number {
  return flagMs ?? fileMs ?? DEFAULT_HISTORY_MAX_AGE_MS;
}
