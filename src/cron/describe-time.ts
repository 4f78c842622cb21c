import type { ParsedCron, ParsedField } from "./parse.js";
import {
  capitalize,
  clockTime,
  isEvery,
  joinGroups,
  joinWords,
  ordinal,
  simpleItems,
  singleValue,
} from "./describe-words.js";

/** At most this many times are listed one by one ("At 09:00, 12:00 and 17:00"). */
const MAX_LISTED_TIMES = 6;

interface Unit {
  readonly one: string;
  readonly many: string;
  /** Values in the field: a step that divides it repeats evenly ("every 5 minutes"). */
  readonly span: number;
}

const SECOND_UNIT: Unit = { one: "second", many: "seconds", span: 60 };
const MINUTE_UNIT: Unit = { one: "minute", many: "minutes", span: 60 };
const HOUR_UNIT: Unit = { one: "hour", many: "hours", span: 24 };

interface Clause {
  readonly text: string;
  /** The clause starts with "every" (so a following `*` field adds nothing). */
  readonly every: boolean;
}

/**
 * One field as a clause: "every minute", "every 5 minutes" (leading, the step
 * divides the field), "every 7th minute", "minute 5", "minutes 0 and 30",
 * "hours 8 through 18", "every 2nd hour from 8 through 18".
 */
function clause(field: ParsedField, unit: Unit, lead: boolean): Clause {
  const items = simpleItems(field);
  const plain: string[] = [];
  const stepped: string[] = [];
  let ranges = 0;
  for (const item of items) {
    switch (item.kind) {
      case "any":
        if (item.step === 1) stepped.push(`every ${unit.one}`);
        else if (lead && items.length === 1 && unit.span % item.step === 0)
          stepped.push(`every ${item.step} ${unit.many}`);
        else stepped.push(`every ${ordinal(item.step)} ${unit.one}`);
        break;
      case "value":
        plain.push(String(item.value));
        break;
      case "range":
        if (item.step === 1) {
          plain.push(`${item.from} through ${item.to}`);
          ranges++;
        } else {
          stepped.push(
            `every ${ordinal(item.step)} ${unit.one} from ${item.from} through ${item.to}`,
          );
        }
        break;
      default:
        // L, W and # belong to the day fields; the parser never puts them here.
        break;
    }
  }
  const groups = [...stepped];
  if (plain.length > 0) {
    const label = plain.length === 1 && ranges === 0 ? unit.one : unit.many;
    groups.unshift(`${label} ${joinWords(plain)}`);
  }
  if (groups.length === 0) return { text: `every ${unit.one}`, every: true };
  return { text: joinGroups(groups), every: plain.length === 0 };
}

/** Values of a field made only of plain values, else null. */
function listedValues(field: ParsedField): number[] | null {
  const out: number[] = [];
  for (const item of simpleItems(field)) {
    if (item.kind !== "value") return null;
    out.push(item.value);
  }
  return out;
}

/** Every combination of listed hours, minutes (and seconds) as clock times, if few enough. */
function listedTimes(p: ParsedCron): string[] | null {
  const hours = listedValues(p.hour);
  const minutes = listedValues(p.minute);
  const seconds = p.hasSeconds ? listedValues(p.second) : [0];
  if (!hours || !minutes || !seconds) return null;
  const uniq = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
  const [hs, ms, ss] = [uniq(hours), uniq(minutes), uniq(seconds)];
  if (hs.length * ms.length * ss.length > MAX_LISTED_TIMES) return null;
  const times: string[] = [];
  for (const h of hs)
    for (const m of ms)
      for (const s of ss) times.push(clockTime(h, m, p.hasSeconds ? s : undefined));
  return times;
}

/**
 * The time-of-day part of a description: "At 02:30", "Every 5 minutes",
 * "At minute 0 past every 2nd hour", "At minutes 0 and 30 past hours 8 through 18",
 * "Every 10 seconds". Larger units follow smaller ones, joined by "past"; a `*`
 * field right after an "every …" clause is left out as it adds nothing.
 */
export function describeTime(p: ParsedCron): string {
  const times = listedTimes(p);
  if (times) return `At ${joinWords(times)}`;

  // A seconds field of just 0 reads as the five-field expression it equals.
  const secondMatters = p.hasSeconds && singleValue(p.second) !== 0;
  const hour = singleValue(p.hour);
  const minute = singleValue(p.minute);
  if (secondMatters && hour !== null && minute !== null) {
    const lead = clause(p.second, SECOND_UNIT, true);
    if (lead.every) {
      const window = `${clockTime(hour, minute, 0)} through ${clockTime(hour, minute, 59)}`;
      return `${capitalize(lead.text)} from ${window}`;
    }
  }

  const fields: [ParsedField, Unit][] = [
    [p.minute, MINUTE_UNIT],
    [p.hour, HOUR_UNIT],
  ];
  if (secondMatters) fields.unshift([p.second, SECOND_UNIT]);
  const parts: Clause[] = [];
  for (const [field, unit] of fields) {
    const previous = parts[parts.length - 1];
    if (previous?.every && isEvery(field)) continue;
    parts.push(clause(field, unit, parts.length === 0));
  }
  const text = parts.map((c) => c.text).join(" past ");
  return parts[0]?.every ? capitalize(text) : `At ${text}`;
}
