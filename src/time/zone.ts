import { InvalidArgumentError } from "../errors.js";

const MS_PER_DAY = 86_400_000;
const SAMPLE_STEP_MS = 7 * MS_PER_DAY;
/** The largest UTC offset difference between two instants of any zone, with margin. */
export const MAX_OFFSET_SPAN_MS = 2 * MS_PER_DAY;

/**
 * A span of UTC time during which a zone's offset is constant. `start` is the
 * transition that began it (or a year boundary when nothing changed there, in
 * which case `prevOffsetMs === offsetMs`), `end` the next one.
 */
export interface ZoneSegment {
  readonly start: number;
  readonly end: number;
  readonly offsetMs: number;
  readonly prevOffsetMs: number;
}

/** One year's offsets: the offset at the year's first instant and every change in it. */
interface ZoneYear {
  readonly startOffsetMs: number;
  readonly transitions: readonly number[];
  readonly offsets: readonly number[];
}

/**
 * A time zone's offsets from UTC, computed with `Intl` once per calendar year
 * and then answered by arithmetic. Construct through {@link resolveZone}.
 */
export class Zone {
  readonly name: string;
  /** True for zones that never change offset (UTC): no `Intl` at all. */
  readonly fixed: boolean;
  readonly #format: Intl.DateTimeFormat | undefined;
  readonly #fixedOffsetMs: number;
  readonly #years = new Map<number, ZoneYear>();
  #last: ZoneSegment;

  constructor(name: string, format: Intl.DateTimeFormat | undefined, fixedOffsetMs = 0) {
    this.name = name;
    this.#format = format;
    this.fixed = format === undefined;
    this.#fixedOffsetMs = fixedOffsetMs;
    this.#last = {
      start: -Infinity,
      end: this.fixed ? Infinity : -Infinity,
      offsetMs: fixedOffsetMs,
      prevOffsetMs: fixedOffsetMs,
    };
  }

  /** The offset (local minus UTC, in ms) in force at the UTC instant `utcMs`. */
  offsetAt(utcMs: number): number {
    return this.segmentAt(utcMs).offsetMs;
  }

  /** The segment of constant offset that contains `utcMs`. */
  segmentAt(utcMs: number): ZoneSegment {
    const last = this.#last;
    if (utcMs >= last.start && utcMs < last.end) return last;
    const segment = this.#computeSegment(utcMs);
    this.#last = segment;
    return segment;
  }

  #computeSegment(utcMs: number): ZoneSegment {
    const yearStart = utcYearStart(utcMs);
    const nextYearStart = utcYearStart(yearStart + 366 * MS_PER_DAY);
    const year = this.#year(yearStart, nextYearStart);
    let start = yearStart;
    let prevOffsetMs = year.startOffsetMs;
    let offsetMs = year.startOffsetMs;
    let end = nextYearStart;
    for (let i = 0; i < year.transitions.length; i++) {
      const at = year.transitions[i]!;
      if (at <= utcMs) {
        prevOffsetMs = offsetMs;
        offsetMs = year.offsets[i]!;
        start = at;
      } else {
        end = at;
        break;
      }
    }
    if (start === yearStart) {
      // Nothing changed this year before utcMs: the segment began at a change
      // exactly at the year start, or in an earlier year.
      // The previous year's table knows the offset just before (no Intl call).
      const prev = this.#year(utcYearStart(yearStart - MS_PER_DAY), yearStart);
      const n = prev.transitions.length;
      const before = n > 0 ? prev.offsets[n - 1]! : prev.startOffsetMs;
      if (before !== offsetMs) {
        prevOffsetMs = before;
      } else if (n > 0) {
        start = prev.transitions[n - 1]!;
        prevOffsetMs = n > 1 ? prev.offsets[n - 2]! : prev.startOffsetMs;
      }
    }
    if (end === nextYearStart) {
      const next = this.#year(nextYearStart, utcYearStart(nextYearStart + 366 * MS_PER_DAY));
      if (next.startOffsetMs === offsetMs && next.transitions[0] !== nextYearStart) {
        end = next.transitions[0] ?? utcYearStart(nextYearStart + 366 * MS_PER_DAY);
      }
    }
    return { start, end, offsetMs, prevOffsetMs };
  }

  #year(yearStart: number, nextYearStart: number): ZoneYear {
    const cached = this.#years.get(yearStart);
    if (cached) return cached;
    const transitions: number[] = [];
    const offsets: number[] = [];
    const startOffsetMs = this.#rawOffset(yearStart);
    let t = yearStart;
    let offset = startOffsetMs;
    while (t < nextYearStart) {
      const probe = Math.min(t + SAMPLE_STEP_MS, nextYearStart - 1000);
      const probeOffset = this.#rawOffset(probe);
      if (probeOffset !== offset) {
        // Bisect to the first second with the new offset.
        let lo = t;
        let hi = probe;
        while (hi - lo > 1000) {
          const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
          if (this.#rawOffset(mid) === offset) lo = mid;
          else hi = mid;
        }
        transitions.push(hi);
        offset = this.#rawOffset(hi);
        offsets.push(offset);
        t = hi;
        continue;
      }
      if (probe >= nextYearStart - 1000) break;
      t = probe;
    }
    const year = { startOffsetMs, transitions, offsets };
    this.#years.set(yearStart, year);
    return year;
  }

  /** Offset straight from Intl; only used while building a year's table. */
  #rawOffset(utcMs: number): number {
    const format = this.#format;
    if (!format) return this.#fixedOffsetMs;
    const whole = Math.floor(utcMs / 1000) * 1000;
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of format.formatToParts(whole)) {
      switch (part.type) {
        case "year":
          year = Number(part.value);
          break;
        case "month":
          month = Number(part.value);
          break;
        case "day":
          day = Number(part.value);
          break;
        case "hour":
          hour = Number(part.value);
          break;
        case "minute":
          minute = Number(part.value);
          break;
        case "second":
          second = Number(part.value);
          break;
        case "era":
          // BCE years are not schedulable; treat as astronomical years.
          if (part.value.startsWith("B")) year = 1 - year;
          break;
        default:
          break;
      }
    }
    const local = Date.UTC(year, month - 1, day, hour, minute, second);
    // Date.UTC maps years 0-99 to 1900-1999; they never occur for schedules.
    return local - whole;
  }
}

/** Leap days in the years before `year` since year 1 (proleptic Gregorian). */
function leapDaysBefore(year: number): number {
  return Math.floor((year - 1) / 4) - Math.floor((year - 1) / 100) + Math.floor((year - 1) / 400);
}

const LEAP_DAYS_BEFORE_1970 = leapDaysBefore(1970);

/** Days from 1970-01-01 to January 1 of `year`. */
function daysToYear(year: number): number {
  return 365 * (year - 1970) + leapDaysBefore(year) - LEAP_DAYS_BEFORE_1970;
}

/** The first instant of the UTC year holding `utcMs`, by arithmetic (no Date: it sits on next()'s path). */
function utcYearStart(utcMs: number): number {
  const days = Math.floor(utcMs / MS_PER_DAY);
  // The estimate is off by at most a year either way.
  const year = 1970 + Math.floor(days / 365.2425);
  let start = daysToYear(year);
  if (start > days) start = daysToYear(year - 1);
  else if (daysToYear(year + 1) <= days) start = daysToYear(year + 1);
  return start * MS_PER_DAY;
}

const UTC_NAMES = new Set([
  "UTC",
  "ETC/UTC",
  "GMT",
  "ETC/GMT",
  "Z",
  "ZULU",
  "UCT",
  "ETC/UCT",
  "UNIVERSAL",
  "ETC/UNIVERSAL",
  "ETC/ZULU",
  "GMT0",
  "ETC/GMT0",
  "GMT+0",
  "GMT-0",
  "ETC/GMT+0",
  "ETC/GMT-0",
  "GREENWICH",
  "ETC/GREENWICH",
]);

// A pure memo of immutable tzdb-derived tables: sharing it between schedulers
// only saves Intl work; nothing observable depends on it.
const zoneCache = new Map<string, Zone>();
let processZone: Zone | undefined;
let processZoneTz: string | undefined;

/** The process's own zone name (from TZ or the system), as Intl reports it. */
export function processTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** True when `name` is an IANA zone this runtime knows. */
export function isValidTimeZone(name: string): boolean {
  try {
    resolveZone(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The {@link Zone} for an IANA name (e.g. "Europe/Berlin"), or the process
 * zone when `name` is undefined. Throws InvalidArgumentError naming the zone.
 */
export function resolveZone(name: string | undefined, argument = "timezone"): Zone {
  if (name === undefined) {
    // Asking Intl for the process zone costs microseconds; TZ can change at run time, so key on it.
    const tz = process.env.TZ;
    if (processZone !== undefined && tz === processZoneTz) return processZone;
    processZone = resolveZone(processTimeZone(), argument);
    processZoneTz = tz;
    return processZone;
  }
  const key = name;
  const cached = zoneCache.get(key);
  if (cached) return cached;
  if (typeof key !== "string" || key.trim() === "") {
    throw new InvalidArgumentError(
      argument,
      'an IANA time zone name such as "Europe/Berlin"',
      name,
    );
  }
  let zone: Zone;
  if (UTC_NAMES.has(key.toUpperCase())) {
    zone = new Zone(key, undefined, 0);
  } else {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: key,
        hourCycle: "h23",
        era: "short",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new InvalidArgumentError(
        argument,
        'an IANA time zone name such as "Europe/Berlin" or "UTC"',
        name,
        `unknown time zone ${JSON.stringify(key)}`,
      );
    }
    zone = new Zone(format.resolvedOptions().timeZone, format);
  }
  zoneCache.set(key, zone);
  return zone;
}
