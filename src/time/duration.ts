import { InvalidArgumentError } from "../errors.js";

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;
const DURATION_TEXT = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** A duration: milliseconds, or text such as `"90s"`, `"5m"`, `"1h30m"`, `"250ms"`, `"2d"`, `"1w"`. */
export type Duration = number | string;

/**
 * Converts a {@link Duration} to whole milliseconds, or returns `undefined`
 * when it is not one (negative, fractional milliseconds, unknown unit).
 * Zero is accepted; callers that need a positive value check it.
 */
export function toMs(value: unknown): number | undefined {
  if (typeof value === "number")
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return toMs(Number(text));
  if (!DURATION_TEXT.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/**
 * Like {@link toMs} but throws an {@link InvalidArgumentError} naming
 * `argument` when the value is not a duration (or is zero and `positive` is set).
 */
export function parseDuration(
  argument: string,
  value: unknown,
  options: { positive?: boolean } = {},
): number {
  const ms = toMs(value);
  if (ms === undefined || (options.positive === true && ms === 0)) {
    throw new InvalidArgumentError(
      argument,
      `a ${options.positive === true ? "positive" : "non-negative"} whole number of milliseconds or a duration such as "90s", "5m", "1h"`,
      value,
    );
  }
  return ms;
}
