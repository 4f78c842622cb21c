/**
 * The days that cron's special day forms pick in one month (`L`, `L-n`,
 * `LW`, `nW` in day-of-month; `nL`, `n#k` in day-of-week), as a bit of the
 * month's 31-bit day mask (bit d-1 for day d); 0 when the form picks no day.
 */
import type { FieldItem } from "./parse.js";

/** The weekday (0 Sunday) of day `day` of a month whose 1st falls on `firstWeekday`. */
function weekdayOf(day: number, firstWeekday: number): number {
  return (firstWeekday + day - 1) % 7;
}

/** The day a day-of-month special item picks in a month of `len` days. */
export function domSpecialBit(item: FieldItem, len: number, firstWeekday: number): number {
  switch (item.kind) {
    case "last-day": {
      const day = len - item.offset;
      return day >= 1 ? 1 << (day - 1) : 0;
    }
    case "last-weekday": {
      const w = weekdayOf(len, firstWeekday);
      const day = w === 6 ? len - 1 : w === 0 ? len - 2 : len;
      return 1 << (day - 1);
    }
    case "nearest-weekday": {
      if (item.day > len) return 0;
      const w = weekdayOf(item.day, firstWeekday);
      let day = item.day;
      if (w === 6) day = item.day === 1 ? 3 : item.day - 1;
      else if (w === 0) day = item.day === len ? item.day - 2 : item.day + 1;
      return 1 << (day - 1);
    }
    default:
      return 0;
  }
}

/** The day a day-of-week special item picks in a month of `len` days. */
export function dowSpecialBit(item: FieldItem, len: number, firstWeekday: number): number {
  switch (item.kind) {
    case "last-dow": {
      const lastWeekday = weekdayOf(len, firstWeekday);
      const day = len - ((lastWeekday - item.dow + 7) % 7);
      return 1 << (day - 1);
    }
    case "nth-dow": {
      const day = 1 + ((item.dow - firstWeekday + 7) % 7) + 7 * (item.nth - 1);
      return day <= len ? 1 << (day - 1) : 0;
    }
    default:
      return 0;
  }
}
