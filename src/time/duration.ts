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

const MESSAGE_UNITS = [
  ["day", UNIT_MS.d],
  ["hour", UNIT_MS.h],
  ["minute", UNIT_MS.m],
  ["second", UNIT_MS.s],
] as const;

/** A duration for messages: `2147483647 ms (about 24.9 days)`, `1000 ms (1 second)`. */
export function describeMs(ms: number): string {
  for (const [unit, size] of MESSAGE_UNITS) {
    if (ms < size) continue;
    const count = Number((ms / size).toFixed(1));
    const about = count * size === ms ? "" : "about ";
    return `${ms} ms (${about}${count} ${unit}${count === 1 ? "" : "s"})`;
  }
  return `${ms} ms`;
}

/** Options of {@link parseDuration}. */
export interface DurationLimits {
  /** Refuse zero. */
  readonly positive?: boolean;
  /**
   * The smallest value allowed, in ms.
   * @defaultValue 1 with `positive`, else 0
   */
  readonly minMs?: number;
  /**
   * The largest value allowed, in ms.
   * @defaultValue none (any safe integer)
   */
  readonly maxMs?: number;
}

/**
 * Like {@link toMs} but throws an {@link InvalidArgumentError} naming
 * `argument`, the allowed range and the value when the value is not a
 * duration or lies outside `[minMs, maxMs]`.
 */
export function parseDuration(
  argument: string,
  value: unknown,
  options: DurationLimits = {},
): number {
  const ms = toMs(value);
  const minMs = options.minMs ?? (options.positive === true ? 1 : 0);
  const maxMs = options.maxMs;
  if (ms === undefined || ms < minMs || (maxMs !== undefined && ms > maxMs)) {
    const range =
      maxMs === undefined
        ? minMs === 0
          ? "a non-negative whole number of milliseconds"
          : minMs === 1
            ? "a positive whole number of milliseconds"
            : `a whole number of milliseconds from ${describeMs(minMs)} up`
        : `a whole number of milliseconds from ${describeMs(minMs)} to ${describeMs(maxMs)}`;
    throw new InvalidArgumentError(
      argument,
      `${range}, or a duration such as "90s", "5m", "1h"`,
      value,
    );
  }
  return ms;
}
