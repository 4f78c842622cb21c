import type { DayMatch } from "./compiled.js";
import { DAY_LABELS, MONTH_LABELS } from "./fields.js";
import type { FieldItem, ParsedField } from "./parse.js";
import {
  expandItem,
  isEvery,
  joinGroups,
  joinWords,
  labelOf,
  nthWord,
  ordinal,
  simpleItems,
} from "./describe-words.js";

function dayName(value: number): string {
  return labelOf(DAY_LABELS, value % 7);
}

function monthName(value: number): string {
  return labelOf(MONTH_LABELS, value);
}

/** The L/W/# forms, as noun phrases ("the last Friday of the month"). */
function specialPhrase(item: FieldItem): string | null {
  switch (item.kind) {
    case "last-day":
      if (item.offset === 0) return "the last day of the month";
      return `${item.offset} ${item.offset === 1 ? "day" : "days"} before the last day of the month`;
    case "nearest-weekday":
      return `the weekday nearest day ${item.day} of the month`;
    case "last-weekday":
      return "the last weekday of the month";
    case "last-dow":
      return `the last ${dayName(item.dow)} of the month`;
    case "nth-dow":
      return `the ${nthWord(item.nth)} ${dayName(item.dow)} of the month`;
    default:
      return null;
  }
}

/**
 * Day-of-month groups, each a full adverbial phrase: "on day 1 and 15 of the month",
 * "on days 1 through 10 of the month", "on every 2nd day of the month",
 * "on the last day of the month", "3 days before the last day of the month".
 */
function dayOfMonthGroups(field: ParsedField): string[] {
  const plain: string[] = [];
  const groups: string[] = [];
  let ranges = 0;
  for (const item of simpleItems(field)) {
    if (item.kind === "value") plain.push(String(item.value));
    else if (item.kind === "range" && item.step === 1) {
      plain.push(`${item.from} through ${item.to}`);
      ranges++;
    } else if (item.kind === "range") {
      groups.push(
        `on every ${ordinal(item.step)} day from day ${item.from} through ${item.to} of the month`,
      );
    } else if (item.kind === "any") {
      groups.push(
        item.step === 1
          ? "on every day of the month"
          : `on every ${ordinal(item.step)} day of the month`,
      );
    } else {
      const phrase = specialPhrase(item);
      if (phrase)
        groups.push(item.kind === "last-day" && item.offset > 0 ? phrase : `on ${phrase}`);
    }
  }
  if (plain.length > 0) {
    groups.unshift(`on ${ranges > 0 ? "days" : "day"} ${joinWords(plain)} of the month`);
  }
  return groups;
}

type DayToken = { readonly name: string } | { readonly phrase: string };

/**
 * Day-of-week tokens in the order written: a single day ({ name }), or a
 * phrase ("Monday through Friday", "the last Friday of the month"). Stepped
 * items are spelt out as the days they reach.
 */
function dayOfWeekTokens(field: ParsedField): DayToken[] {
  const tokens: DayToken[] = [];
  const seen = new Set<number>();
  const addDay = (value: number): void => {
    if (seen.has(value % 7)) return;
    seen.add(value % 7);
    tokens.push({ name: dayName(value) });
  };
  for (const item of simpleItems(field)) {
    if (item.kind === "range" && item.step === 1) {
      // 0-7 names Sunday twice; say it as the week it covers.
      const to = item.from === 0 && item.to === 7 ? 6 : item.to;
      tokens.push({ phrase: `${dayName(item.from)} through ${dayName(to)}` });
    } else if (item.kind === "value" || item.kind === "range" || item.kind === "any") {
      for (const v of expandItem(item, field.spec)) addDay(v);
    } else {
      const phrase = specialPhrase(item);
      if (phrase && !tokens.some((t) => "phrase" in t && t.phrase === phrase))
        tokens.push({ phrase });
    }
  }
  return tokens;
}

const tokenText = (t: DayToken): string => ("name" in t ? t.name : t.phrase);

/** "Monday", "Monday and Friday", "Monday through Friday and the last Sunday of the month". */
function dayOfWeekNoun(tokens: readonly DayToken[]): string {
  return joinWords(tokens.map(tokenText));
}

/** The weekday part on its own: "Monday through Friday", "on Monday and Friday". */
function dayOfWeekStandalone(tokens: readonly DayToken[]): string {
  const only = tokens.length === 1 ? tokens[0] : undefined;
  if (only && "phrase" in only && !only.phrase.startsWith("the ")) return only.phrase;
  return `on ${dayOfWeekNoun(tokens)}`;
}

/** The weekday part as a condition: "if it is a Monday", "if it is Monday through Friday". */
function dayOfWeekCondition(tokens: readonly DayToken[]): string {
  if (tokens.every((t) => "name" in t)) {
    return `if it is a ${joinWords(tokens.map(tokenText), "or")}`;
  }
  return `if it is ${joinWords(
    tokens.map((t) => ("name" in t ? `a ${t.name}` : t.phrase)),
    "or",
  )}`;
}

/**
 * The day part of a description, combining day-of-month and day-of-week the way
 * the schedule matches them: Vixie cron ORs the two fields unless either one's
 * text starts with `*` (then both must match). Empty when every day matches.
 */
export function describeDays(dom: ParsedField, dow: ParsedField, dayMatch: DayMatch): string {
  const and = dayMatch === "and" || (dayMatch === "vixie" && (dom.star || dow.star));
  const domAll = isEvery(dom);
  const dowAll = isEvery(dow);
  const domText = (): string => joinGroups(dayOfMonthGroups(dom));
  const dowTokens = (): DayToken[] => dayOfWeekTokens(dow);
  if (!and) {
    // One unrestricted field matches every day, and so does the union.
    if (domAll || dowAll) return "";
    return `${domText()}, or on ${dayOfWeekNoun(dowTokens())}`;
  }
  if (domAll && dowAll) return "";
  if (domAll) return dayOfWeekStandalone(dowTokens());
  if (dowAll) return domText();
  return `${domText()} ${dayOfWeekCondition(dowTokens())}`;
}

/** Month or year tokens: values, "A through B", stepped items spelt out (months) or worded (years). */
function monthTokens(field: ParsedField): { tokens: string[]; ranges: number } {
  const tokens: string[] = [];
  let ranges = 0;
  const seen = new Set<number>();
  for (const item of simpleItems(field)) {
    if (item.kind === "range" && item.step === 1) {
      tokens.push(`${monthName(item.from)} through ${monthName(item.to)}`);
      ranges++;
    } else {
      for (const v of expandItem(item, field.spec)) {
        if (seen.has(v)) continue;
        seen.add(v);
        tokens.push(monthName(v));
      }
    }
  }
  return { tokens, ranges };
}

/** The month part: "" for every month, "January through March", "only in January and July". */
export function describeMonths(field: ParsedField): string {
  if (isEvery(field)) return "";
  const { tokens, ranges } = monthTokens(field);
  if (tokens.length === 1 && ranges === 1) return tokens[0]!;
  // Single months read best in calendar order (stepped ones are spelt out among them).
  if (ranges === 0) tokens.sort((a, b) => MONTH_LABELS.indexOf(a) - MONTH_LABELS.indexOf(b));
  return `only in ${joinWords(tokens)}`;
}

/** The year part: "" for every year, "in 2025", "2025 through 2030", "every 2nd year from 2024 through 2199". */
export function describeYears(field: ParsedField | null): string {
  if (!field || isEvery(field)) return "";
  const plain: string[] = [];
  const groups: string[] = [];
  let ranges = 0;
  for (const item of simpleItems(field)) {
    if (item.kind === "value") plain.push(String(item.value));
    else if (item.kind === "range" && item.step === 1) {
      plain.push(`${item.from} through ${item.to}`);
      ranges++;
    } else if (item.kind === "range" || item.kind === "any") {
      const from = item.kind === "range" ? item.from : field.spec.min;
      const to = item.kind === "range" ? item.to : field.spec.max;
      groups.push(`every ${ordinal(item.step)} year from ${from} through ${to}`);
    }
  }
  if (plain.length === 1 && ranges === 1 && groups.length === 0) return plain[0]!;
  if (plain.length > 0) groups.unshift(`in ${joinWords(plain)}`);
  return joinGroups(groups);
}
