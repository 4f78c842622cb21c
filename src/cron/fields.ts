import type { CronFieldName } from "../errors.js";

/** Static facts about one cron field. */
export interface FieldSpec {
  readonly name: CronFieldName;
  readonly min: number;
  readonly max: number;
  /** Three-letter names accepted in place of numbers (upper case), mapped to values. */
  readonly names?: Readonly<Record<string, number>>;
  /** Full names that people write by mistake, mapped to the short form to suggest. */
  readonly fullNames?: Readonly<Record<string, string>>;
}

const MONTH_NAMES = [
  "JAN",
  "FEB",
  "MAR",
  "APR",
  "MAY",
  "JUN",
  "JUL",
  "AUG",
  "SEP",
  "OCT",
  "NOV",
  "DEC",
];
const MONTH_FULL = [
  "JANUARY",
  "FEBRUARY",
  "MARCH",
  "APRIL",
  "MAY",
  "JUNE",
  "JULY",
  "AUGUST",
  "SEPTEMBER",
  "OCTOBER",
  "NOVEMBER",
  "DECEMBER",
];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const DAY_FULL = ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"];

function table(names: readonly string[], first: number): Record<string, number> {
  return Object.fromEntries(names.map((name, i) => [name, i + first]));
}

function fullTable(full: readonly string[], short: readonly string[]): Record<string, string> {
  const entries = full.map((name, i): [string, string] => [name, short[i]!]);
  // "TUES", "THUR", "THURS", "WEDS", "SEPT" and the like are also mistakes worth a hint.
  const extra: [string, string][] = [
    ["TUES", "TUE"],
    ["WEDS", "WED"],
    ["THUR", "THU"],
    ["THURS", "THU"],
    ["SEPT", "SEP"],
  ];
  return Object.fromEntries([...entries, ...extra.filter(([, s]) => short.includes(s))]);
}

export const SECOND: FieldSpec = { name: "second", min: 0, max: 59 };
export const MINUTE: FieldSpec = { name: "minute", min: 0, max: 59 };
export const HOUR: FieldSpec = { name: "hour", min: 0, max: 23 };
export const DAY_OF_MONTH: FieldSpec = { name: "day-of-month", min: 1, max: 31 };
export const MONTH: FieldSpec = {
  name: "month",
  min: 1,
  max: 12,
  names: table(MONTH_NAMES, 1),
  fullNames: fullTable(MONTH_FULL, MONTH_NAMES),
};
/** Day of week: 0-6 from Sunday, and 7 is Sunday again. */
export const DAY_OF_WEEK: FieldSpec = {
  name: "day-of-week",
  min: 0,
  max: 7,
  names: table(DAY_NAMES, 0),
  fullNames: fullTable(DAY_FULL, DAY_NAMES),
};
export const YEAR: FieldSpec = { name: "year", min: 1970, max: 2199 };

/** English names, for descriptions. */
export const MONTH_LABELS = [
  "",
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
export const DAY_LABELS = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
];

/** Nicknames and the five-field expression each stands for. */
export const NICKNAMES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
