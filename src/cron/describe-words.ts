import type { FieldSpec } from "./fields.js";
import type { FieldItem, ParsedField } from "./parse.js";

/**
 * Joins phrases as English lists: `a`, `a and b`, `a, b and c` (no serial comma).
 * @param conjunction - the word before the last phrase
 */
export function joinWords(parts: readonly string[], conjunction: "and" | "or" = "and"): string {
  if (parts.length <= 1) return parts[0] ?? "";
  return `${parts.slice(0, -1).join(", ")} ${conjunction} ${parts[parts.length - 1]!}`;
}

/**
 * Joins phrases that may themselves contain "and": with a serial comma then
 * ("minutes 0 and 30, and every 5th minute from 40 through 55"), else as {@link joinWords}.
 * Repeated phrases are said once.
 */
export function joinGroups(groups: readonly string[]): string {
  const unique = [...new Set(groups)];
  if (unique.length <= 2 && !unique.some((g) => g.includes(" and "))) return joinWords(unique);
  if (unique.length <= 1) return unique[0] ?? "";
  return `${unique.slice(0, -1).join(", ")}, and ${unique[unique.length - 1]!}`;
}

/** `1st`, `2nd`, `3rd`, `4th`, `11th`, `12th`, `13th`, `21st`, … */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

const NTH_WORDS = ["", "first", "second", "third", "fourth", "fifth"];

/** `first` … `fifth` (the `#n` of day-of-week), falling back to `6th` and up. */
export function nthWord(n: number): string {
  return NTH_WORDS[n] || ordinal(n);
}

/** Two-digit, zero-padded: `7` → `07`. */
export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `HH:MM`, or `HH:MM:SS` when `seconds` is given. */
export function clockTime(hour: number, minute: number, seconds?: number): string {
  const hm = `${pad2(hour)}:${pad2(minute)}`;
  return seconds === undefined ? hm : `${hm}:${pad2(seconds)}`;
}

/** Upper-cases the first letter. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The label at `index`, or the number itself if the table has none (never "undefined"). */
export function labelOf(labels: readonly string[], index: number): string {
  return labels[index] || String(index);
}

/**
 * Rewrites an item into the simplest equivalent form so that wording never
 * says "every 30th minute from 5 through 10" for what is just minute 5:
 * a range of one value and a stepped range that reaches a single value
 * become that value.
 */
export function simplifyItem(item: FieldItem): FieldItem {
  if (item.kind !== "range") return item;
  if (item.from === item.to || item.from + item.step > item.to) {
    return { kind: "value", value: item.from };
  }
  return item;
}

/** The field's items, simplified (see {@link simplifyItem}). */
export function simpleItems(field: ParsedField): FieldItem[] {
  return field.items.map(simplifyItem);
}

/** True when the field is `*`, `*\/1` or `?`: every value of the field. */
export function isEvery(field: ParsedField): boolean {
  const only = field.items.length === 1 ? field.items[0] : undefined;
  return only?.kind === "any" && only.step === 1;
}

/** The one value of a field that is a single plain value, else null. */
export function singleValue(field: ParsedField): number | null {
  const items = simpleItems(field);
  const only = items.length === 1 ? items[0] : undefined;
  return only?.kind === "value" ? only.value : null;
}

/** The values a plain item covers, from the field's minimum when it is `*\/n`. */
export function expandItem(item: FieldItem, spec: FieldSpec): number[] {
  let from: number;
  let to: number;
  let step: number;
  switch (item.kind) {
    case "value":
      return [item.value];
    case "range":
      ({ from, to, step } = item);
      break;
    case "any":
      ({ step } = item);
      from = spec.min;
      to = spec.max;
      break;
    default:
      return [];
  }
  const out: number[] = [];
  // Steps are at least 1 in anything that parses; guard anyway so that no input can loop.
  for (let v = from; v <= to; v += Math.max(1, step)) out.push(v);
  return out;
}
