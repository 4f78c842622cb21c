import type { DayMatch } from "./compiled.js";
import { describeDays, describeMonths, describeYears } from "./describe-days.js";
import { describeTime } from "./describe-time.js";
import type { ParsedCron } from "./parse.js";

/** Options of {@link describeCron}. */
export interface DescribeOptions {
  /**
   * How the expression combines day-of-month and day-of-week, as given to `parseCron`;
   * the wording says "or" or "if it is" accordingly.
   * @defaultValue "vixie"
   */
  dayMatch?: DayMatch;
}

/**
 * Plain-English description of a parsed expression, in the style of
 * crontab.guru and cronstrue: the time of day first, then the days, months
 * and years, joined by commas. Times are 24-hour `HH:MM` (`HH:MM:SS` when the
 * expression has a seconds field); nicknames are described by their expansion.
 *
 * @example
 * describeCron(parseCronSyntax("30 2 * * 1-5")) // "At 02:30, Monday through Friday"
 * describeCron(parseCronSyntax("0 0 1,15 * MON")) // "At 00:00, on day 1 and 15 of the month, or on Monday"
 */
export function describeCron(parsed: ParsedCron, options: DescribeOptions = {}): string {
  const parts = [
    describeTime(parsed),
    describeDays(parsed.dayOfMonth, parsed.dayOfWeek, options.dayMatch ?? "vixie"),
    describeMonths(parsed.month),
    describeYears(parsed.year),
  ];
  return parts.filter((part) => part !== "").join(", ");
}
