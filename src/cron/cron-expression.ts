import { InvalidArgumentError } from "../errors.js";
import { SystemClock } from "../time/clock.js";
import { resolveZone, type Zone } from "../time/zone.js";
import { CompiledCron, type DayMatch } from "./compiled.js";
import { describeCron } from "./describe.js";
import { dstChangesBetween, type DstChange } from "./dst-changes.js";
import { countInstants, listInstants, nextInstant, prevInstant, type DstPolicy } from "./next.js";
import { parseCronSyntax, type ParsedCron } from "./parse.js";

/** Options of {@link parseCron}. */
export interface CronOptions {
  /**
   * IANA time zone the expression's fields are read in.
   * @defaultValue the process zone
   */
  timezone?: string;
  /**
   * How day-of-month and day-of-week combine: `vixie` ORs them unless either
   * field's text starts with `*` (then AND), as cron does; `or` and `and` are plain.
   * @defaultValue "vixie"
   */
  dayMatch?: DayMatch;
  /**
   * Daylight-saving behaviour. By default a fixed-time expression (neither the
   * minute nor the hour field starts with `*`) uses `{ gap: "shift", overlap: "first" }`
   * and any other `{ gap: "skip", overlap: "both" }`, as cronie's daemon does.
   * It applies to offset changes of at most 3 hours: after a bigger one (Pacific/Apia
   * skipped 2011-12-30) skipped local times never run and repeated ones run twice.
   */
  dst?: { gap?: "shift" | "skip"; overlap?: "first" | "both" };
}

const DAY_MATCHES: readonly DayMatch[] = ["vixie", "or", "and"];

function checkDate(value: unknown, argument: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidArgumentError(argument, "a valid Date", value);
  }
  return value.getTime();
}

function checkInstant(value: number, argument: string): void {
  if (!Number.isFinite(value))
    throw new InvalidArgumentError(argument, "a finite number of ms", value);
}

/** A parsed, compiled cron expression bound to a time zone. Immutable; safe to share. */
export class CronExpression {
  /** The text it was parsed from. */
  readonly source: string;
  /** The IANA zone its fields are read in. */
  readonly timezone: string;
  /** True when neither minute nor hour starts with `*` (cronie's fixed-time jobs). */
  readonly fixedTime: boolean;
  /** The daylight-saving policy in force. */
  readonly dst: DstPolicy;
  /** How day-of-month and day-of-week combine. */
  readonly dayMatch: DayMatch;
  /** The syntax tree (for tools; treat as read-only). */
  readonly parsed: ParsedCron;
  readonly #compiled: CompiledCron;
  readonly #zone: Zone;

  constructor(expression: string, options: CronOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError("options", "an object", options);
    }
    const dayMatch = options.dayMatch ?? "vixie";
    if (!DAY_MATCHES.includes(dayMatch)) {
      throw new InvalidArgumentError(
        "options.dayMatch",
        `one of ${DAY_MATCHES.map((d) => `"${d}"`).join(", ")}`,
        dayMatch,
      );
    }
    const dstOption = options.dst ?? {};
    if (dstOption === null || typeof dstOption !== "object") {
      throw new InvalidArgumentError("options.dst", "an object { gap?, overlap? }", dstOption);
    }
    if (dstOption.gap !== undefined && dstOption.gap !== "shift" && dstOption.gap !== "skip") {
      throw new InvalidArgumentError("options.dst.gap", '"shift" or "skip"', dstOption.gap);
    }
    if (
      dstOption.overlap !== undefined &&
      dstOption.overlap !== "first" &&
      dstOption.overlap !== "both"
    ) {
      throw new InvalidArgumentError("options.dst.overlap", '"first" or "both"', dstOption.overlap);
    }
    if (options.timezone !== undefined && typeof options.timezone !== "string") {
      throw new InvalidArgumentError(
        "options.timezone",
        'an IANA time zone name such as "Europe/Berlin"',
        options.timezone,
      );
    }
    this.#zone = resolveZone(options.timezone, "options.timezone");
    this.parsed = parseCronSyntax(expression);
    this.source = expression;
    this.timezone = this.#zone.name;
    this.fixedTime = !this.parsed.minute.star && !this.parsed.hour.star;
    this.dst = {
      gap: dstOption.gap ?? (this.fixedTime ? "shift" : "skip"),
      overlap: dstOption.overlap ?? (this.fixedTime ? "first" : "both"),
    };
    this.dayMatch = dayMatch;
    this.#compiled = new CompiledCron(this.parsed, dayMatch);
  }

  /** The first run strictly after `from`, or null when there is none (never fires, or past its years). */
  next(from: Date): Date | null {
    const t = nextInstant(this.#compiled, this.#zone, this.dst, checkDate(from, "from"));
    return Number.isNaN(t) ? null : new Date(t);
  }

  /** The last run strictly before `from`, or null. */
  prev(from: Date): Date | null {
    const t = prevInstant(this.#compiled, this.#zone, this.dst, checkDate(from, "from"));
    return Number.isNaN(t) ? null : new Date(t);
  }

  /** Like {@link next}, on epoch milliseconds; NaN when there is none. */
  nextMs(fromMs: number): number {
    return nextInstant(this.#compiled, this.#zone, this.dst, fromMs);
  }

  /** Like {@link prev}, on epoch milliseconds; NaN when there is none. */
  prevMs(fromMs: number): number {
    return prevInstant(this.#compiled, this.#zone, this.dst, fromMs);
  }

  /**
   * How many runs fall after `after` and at or before `through` (0 when `through`
   * is not after `after`): exactly as many as calling {@link next} from `after`
   * until it passes `through` would give, daylight-saving rules included, but
   * computed per month and per change of offset, not per run.
   */
  countBetween(after: Date, through: Date): number {
    return this.countBetweenMs(checkDate(after, "after"), checkDate(through, "through"));
  }

  /** Like {@link countBetween}, on epoch milliseconds (finite numbers). */
  countBetweenMs(afterMs: number, throughMs: number): number {
    checkInstant(afterMs, "afterMs");
    checkInstant(throughMs, "throughMs");
    return countInstants(this.#compiled, this.#zone, this.dst, afterMs, throughMs);
  }

  /** The first `limit` runs after `afterMs` and at or before `throughMs`, oldest first, in epoch ms. */
  listBetweenMs(afterMs: number, throughMs: number, limit: number): number[] {
    checkInstant(afterMs, "afterMs");
    checkInstant(throughMs, "throughMs");
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new InvalidArgumentError("limit", "a whole number from 0 up", limit);
    }
    return listInstants(this.#compiled, this.#zone, this.dst, afterMs, throughMs, limit);
  }

  /**
   * The daylight-saving changes of the zone with afterMs < change <= throughMs,
   * each with what it does to this expression's runs (moved, dropped, run once or twice).
   */
  dstChangesBetweenMs(afterMs: number, throughMs: number): DstChange[] {
    checkInstant(afterMs, "afterMs");
    checkInstant(throughMs, "throughMs");
    return dstChangesBetween(this.#compiled, this.#zone, this.dst, afterMs, throughMs);
  }

  /** Up to `count` runs strictly after `from`, in order (fewer if the schedule ends). */
  nextRuns(count: number, from: Date): Date[] {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new InvalidArgumentError("count", "a whole number from 0 up", count);
    }
    let t = checkDate(from, "from");
    const runs: Date[] = [];
    while (runs.length < count) {
      t = nextInstant(this.#compiled, this.#zone, this.dst, t);
      if (Number.isNaN(t)) break;
      runs.push(new Date(t));
    }
    return runs;
  }

  /** True when `date` is exactly one of the run instants (whole seconds). */
  matches(date: Date): boolean {
    const t = checkDate(date, "date");
    return nextInstant(this.#compiled, this.#zone, this.dst, t - 1) === t;
  }

  /** The expression in plain English, e.g. "At 02:30, Monday through Friday". */
  describe(): string {
    return describeCron(this.parsed, { dayMatch: this.dayMatch });
  }

  toString(): string {
    return this.source;
  }
}

/**
 * Parses a cron expression. Throws CronSyntaxError (with `field` and `column`)
 * for malformed text and InvalidArgumentError for bad options or an unknown zone.
 */
export function parseCron(expression: string, options?: CronOptions): CronExpression {
  return new CronExpression(expression, options);
}

/** Options of {@link nextRuns}. */
export interface NextRunsOptions {
  /** @defaultValue now */
  from?: Date;
  /** @defaultValue 5 */
  count?: number;
  /** @defaultValue the process zone */
  timezone?: string;
}

/** The next `count` runs of `expression` after `from`, as Dates. */
export function nextRuns(expression: string, options: NextRunsOptions = {}): Date[] {
  const from = options.from ?? new SystemClock().now();
  return parseCron(expression, { timezone: options.timezone }).nextRuns(options.count ?? 5, from);
}
