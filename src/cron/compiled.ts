import type { FieldItem, ParsedCron, ParsedField } from "./parse.js";
import { ctz, next30, popcount, prev30, prev60 } from "./bits.js";
import { daysFromCivil, civilFromDays, daysInMonth, DAY_MS } from "./civil.js";
import { domSpecialBit, dowSpecialBit } from "./special-days.js";
import { TimesOfDay } from "./times-of-day.js";

/** How day-of-month and day-of-week combine. */
export type DayMatch = "vixie" | "or" | "and";

/** Years searched before an expression without a year field is declared never to fire. */
const SEARCH_YEARS = 400;

function specialItems(field: ParsedField): FieldItem[] {
  return field.items.filter((i) => i.kind !== "any" && i.kind !== "range" && i.kind !== "value");
}

/**
 * A cron expression compiled to lookup tables. It answers in naive local time
 * (milliseconds on a clock that never jumps, as if the zone were UTC); the
 * zone-aware layer in next.ts maps that onto real instants.
 */
export class CompiledCron {
  readonly #secLo: number;
  readonly #secHi: number;
  readonly #minLo: number;
  readonly #minHi: number;
  readonly #hours: number;
  readonly #months: number;
  /** Bit d-1 set when plain day-of-month values include d. */
  readonly #domBits: number;
  /** For each weekday of the 1st (0-6), the days of a 31-day month whose weekday is allowed. */
  readonly #dowMonth: Int32Array;
  readonly #domSpecial: readonly FieldItem[];
  readonly #dowSpecial: readonly FieldItem[];
  readonly #and: boolean;
  /** Allowed years, or null for any. */
  readonly #years: Uint8Array | null;
  readonly #firstYear: number;
  readonly #lastYear: number;
  readonly #times: TimesOfDay;
  #maskKey = -1;
  #mask = 0;
  /**
   * The day (day number) of nextLocal's last answer, a day that matches the
   * date fields: a chain of next() calls mostly stays within one day, and
   * then only the time of day is searched.
   */
  #matchDay = Number.NaN;
  /** The year and month (1-12) of #matchDay. */
  #matchYear = 0;
  #matchMonth = 0;
  /** The matching days of #matchDay's month after it: bit 0 for the next day. */
  #matchRest = 0;
  /** The first matching time of any day (whole seconds), or -1 when none. */
  readonly #firstSod: number;

  constructor(parsed: ParsedCron, dayMatch: DayMatch) {
    this.#secLo = parsed.second.lo;
    this.#secHi = parsed.second.hi;
    this.#minLo = parsed.minute.lo;
    this.#minHi = parsed.minute.hi;
    this.#hours = parsed.hour.lo;
    this.#months = parsed.month.lo;
    this.#times = new TimesOfDay(this.#secLo, this.#secHi, this.#minLo, this.#minHi, this.#hours);
    this.#firstSod = this.#times.next(0);
    this.#domBits = (parsed.dayOfMonth.lo >>> 1) | (parsed.dayOfMonth.hi << 29);
    const week = parsed.dayOfWeek.lo & 0x7f;
    this.#dowMonth = new Int32Array(7);
    for (let w = 0; w < 7; w++) {
      // Day k+1 of a month starting on weekday w falls on weekday (w + k) % 7.
      const rotated = ((week >>> w) | (week << (7 - w))) & 0x7f;
      this.#dowMonth[w] =
        (rotated | (rotated << 7) | (rotated << 14) | (rotated << 21) | (rotated << 28)) &
        0x7fffffff;
    }
    this.#domSpecial = specialItems(parsed.dayOfMonth);
    this.#dowSpecial = specialItems(parsed.dayOfWeek);
    this.#and =
      dayMatch === "and" ||
      (dayMatch === "vixie" && (parsed.dayOfMonth.star || parsed.dayOfWeek.star));
    if (parsed.year) {
      const years = new Uint8Array(2200);
      for (const y of parsed.year.values) years[y] = 1;
      this.#years = years;
      this.#firstYear = parsed.year.values[0]!;
      this.#lastYear = parsed.year.values[parsed.year.values.length - 1]!;
    } else {
      this.#years = null;
      this.#firstYear = -Infinity;
      this.#lastYear = Infinity;
    }
  }

  /** The 31-bit mask of matching days (bit d-1 for day d) of month `month` (1-12) of `year`. */
  dayMask(year: number, month: number): number {
    const key = year * 16 + month;
    if (key === this.#maskKey) return this.#mask;
    const len = daysInMonth(year, month);
    const lenMask = len === 31 ? 0x7fffffff : (1 << len) - 1;
    const firstWeekday = (((daysFromCivil(year, month, 1) + 4) % 7) + 7) % 7;
    let dom = this.#domBits;
    for (const item of this.#domSpecial) dom |= domSpecialBit(item, len, firstWeekday);
    let dow = this.#dowMonth[firstWeekday]!;
    for (const item of this.#dowSpecial) dow |= dowSpecialBit(item, len, firstWeekday);
    // A `*` field's mask is every day, so Vixie's AND needs no special case.
    const mask = (this.#and ? dom & dow : dom | dow) & lenMask;
    this.#maskKey = key;
    this.#mask = mask;
    return mask;
  }

  /** How many matching naive local times (whole seconds) lie in [fromLocal, throughLocal]. */
  countLocal(fromLocal: number, throughLocal: number): number {
    const times = this.#times;
    if (throughLocal < fromLocal || times.perDay === 0) return 0;
    const dayLo = Math.floor(fromLocal / DAY_MS);
    const dayHi = Math.floor(throughLocal / DAY_MS);
    let days = 0;
    this.#forEachMonth(dayLo, dayHi, (_first, mask) => {
      days += popcount(mask);
      return true;
    });
    // Every matching day counted whole; take off what lies outside the range on the first and last.
    let count = days * times.perDay;
    if (this.#dayMatches(dayLo)) count -= times.countBelow((fromLocal - dayLo * DAY_MS) / 1000);
    if (this.#dayMatches(dayHi)) {
      count -= times.perDay - times.countBelow((throughLocal - dayHi * DAY_MS) / 1000 + 1);
    }
    return count;
  }

  /**
   * Appends `t - shiftMs` for each matching naive local time t (whole seconds)
   * in [fromLocal, throughLocal], in order, while `out` holds fewer than `max`.
   */
  listLocal(
    fromLocal: number,
    throughLocal: number,
    shiftMs: number,
    max: number,
    out: number[],
  ): void {
    if (throughLocal < fromLocal || out.length >= max) return;
    const dayLo = Math.floor(fromLocal / DAY_MS);
    const dayHi = Math.floor(throughLocal / DAY_MS);
    const sodLo = (fromLocal - dayLo * DAY_MS) / 1000;
    const sodHi = (throughLocal - dayHi * DAY_MS) / 1000;
    this.#forEachMonth(dayLo, dayHi, (first, mask) => {
      for (let rest = mask; rest !== 0; rest &= rest - 1) {
        const day = first + ctz(rest);
        const from = day === dayLo ? sodLo : 0;
        const through = day === dayHi ? sodHi : 86_399;
        this.#times.list(from, through, day * DAY_MS - shiftMs, max, out);
        if (out.length >= max) return false;
      }
      return true;
    });
  }

  /** True when the day (day number) matches the year, month and day fields. */
  #dayMatches(day: number): boolean {
    const { year, month, day: date } = civilFromDays(day);
    if (this.#years !== null && this.#years[year] !== 1) return false;
    if (((this.#months >>> month) & 1) === 0) return false;
    return ((this.dayMask(year, month) >>> (date - 1)) & 1) === 1;
  }

  /**
   * Calls `visit(first, mask)`, in order, for each month meeting the days
   * [dayLo, dayHi] whose year and month match and which has matching days in
   * the range: `first` is the day number of its 1st, `mask` its matching days
   * in the range (bit d-1 for day d). Stops when `visit` returns false.
   */
  #forEachMonth(
    dayLo: number,
    dayHi: number,
    visit: (first: number, mask: number) => boolean,
  ): void {
    const years = this.#years;
    let { year, month } = civilFromDays(dayLo);
    let first = daysFromCivil(year, month, 1);
    while (first <= dayHi) {
      if (years !== null && years[year] !== 1) {
        // Skip to January of the next allowed year.
        do year++;
        while (year <= this.#lastYear && years[year] !== 1);
        if (year > this.#lastYear) return;
        month = 1;
        first = daysFromCivil(year, 1, 1);
        continue;
      }
      const after = first + daysInMonth(year, month);
      if ((this.#months >>> month) & 1) {
        let mask = this.dayMask(year, month);
        if (dayLo > first) mask &= ~((1 << (dayLo - first)) - 1);
        if (dayHi < after - 1) mask &= (1 << (dayHi - first + 1)) - 1;
        if (mask !== 0 && !visit(first, mask)) return;
      }
      first = after;
      if (++month > 12) {
        month = 1;
        year++;
      }
    }
  }

  /** The earliest matching naive local time >= `local` (whole seconds), or NaN. */
  nextLocal(local: number): number {
    const days = Math.floor(local / DAY_MS);
    const sod = Math.floor((local - days * DAY_MS) / 1000);
    if (days === this.#matchDay) {
      const t = this.#times.next(sod);
      if (t >= 0) return (days * 86400 + t) * 1000;
      // Nothing left that day: the month's next matching day, at its first time.
      const rest = this.#matchRest;
      if (rest !== 0) {
        const skip = ctz(rest) + 1;
        const day = days + skip;
        this.#matchDay = day;
        this.#matchRest = rest >>> skip;
        return (day * 86400 + this.#firstSod) * 1000;
      }
      // Nor that month: search from the first of the next one.
      const month = this.#matchMonth;
      return month === 12
        ? this.#nextFrom(this.#matchYear + 1, 1, 1, 0)
        : this.#nextFrom(this.#matchYear, month + 1, 1, 0);
    }
    const civil = civilFromDays(days);
    return this.#nextFrom(civil.year, civil.month, civil.day, sod);
  }

  /** nextLocal's search from a civil date (the day may be past its month's end) and a time of day in seconds. */
  #nextFrom(y: number, mo: number, d: number, sod: number): number {
    const limit = Math.min(this.#lastYear, y + SEARCH_YEARS);
    const years = this.#years;
    for (;;) {
      if (y > limit) return NaN;
      if (years !== null && years[y] !== 1) {
        if (y < this.#firstYear) y = this.#firstYear;
        else while (y <= limit && years[y] !== 1) y++;
        mo = d = 1;
        sod = 0;
        continue;
      }
      const mo2 = next30(this.#months, mo);
      if (mo2 < 0) {
        y++;
        mo = d = 1;
        sod = 0;
        continue;
      }
      if (mo2 !== mo) {
        mo = mo2;
        d = 1;
        sod = 0;
      }
      const rest = this.dayMask(y, mo) >>> (d - 1);
      if (rest === 0) {
        if (++mo > 12) {
          y++;
          mo = 1;
        }
        d = 1;
        sod = 0;
        continue;
      }
      const d2 = d + 31 - Math.clz32(rest & -rest);
      if (d2 !== d) {
        d = d2;
        sod = 0;
      }
      const t = this.#times.next(sod);
      if (t < 0) {
        d++;
        sod = 0;
        continue;
      }
      const day = daysFromCivil(y, mo, d);
      this.#matchDay = day;
      this.#matchYear = y;
      this.#matchMonth = mo;
      this.#matchRest = d === 31 ? 0 : this.dayMask(y, mo) >>> d;
      return (day * 86400 + t) * 1000;
    }
  }

  /** The latest matching naive local time <= `local` (whole seconds), or NaN. */
  prevLocal(local: number): number {
    const days = Math.floor(local / DAY_MS);
    const sod = Math.floor((local - days * DAY_MS) / 1000);
    let h = Math.floor(sod / 3600);
    let mi = Math.floor((sod % 3600) / 60);
    let s = sod % 60;
    const civil = civilFromDays(days);
    let y = civil.year;
    let mo = civil.month;
    let d = civil.day;
    const limit = Math.max(this.#firstYear, y - SEARCH_YEARS);
    const years = this.#years;
    for (;;) {
      if (y < limit) return NaN;
      if (years !== null && years[y] !== 1) {
        if (y > this.#lastYear) y = this.#lastYear;
        else while (y >= limit && years[y] !== 1) y--;
        mo = 12;
        d = 31;
        h = 23;
        mi = s = 59;
        continue;
      }
      const mo2 = prev30(this.#months, mo);
      if (mo2 < 0) {
        y--;
        mo = 12;
        d = 31;
        h = 23;
        mi = s = 59;
        continue;
      }
      if (mo2 !== mo) {
        mo = mo2;
        d = 31;
        h = 23;
        mi = s = 59;
      }
      const full = this.dayMask(y, mo);
      const upTo = d >= 31 ? full : d <= 0 ? 0 : full & ((1 << d) - 1);
      if (upTo === 0) {
        mo--;
        d = 31;
        h = 23;
        mi = s = 59;
        continue;
      }
      const d2 = 32 - Math.clz32(upTo);
      if (d2 !== d) {
        d = d2;
        h = 23;
        mi = s = 59;
      }
      const h2 = prev30(this.#hours, h);
      if (h2 < 0) {
        d--;
        h = 23;
        mi = s = 59;
        continue;
      }
      if (h2 !== h) {
        h = h2;
        mi = s = 59;
      }
      const mi2 = prev60(this.#minLo, this.#minHi, mi);
      if (mi2 < 0) {
        h--;
        mi = s = 59;
        continue;
      }
      if (mi2 !== mi) {
        mi = mi2;
        s = 59;
      }
      const s2 = prev60(this.#secLo, this.#secHi, s);
      if (s2 < 0) {
        mi--;
        s = 59;
        continue;
      }
      return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s2) * 1000;
    }
  }
}
