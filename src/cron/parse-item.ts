import type { CronSyntaxError } from "../errors.js";
import {
  DAY_OF_MONTH,
  DAY_OF_WEEK,
  HOUR,
  MINUTE,
  MONTH,
  SECOND,
  type FieldSpec,
} from "./fields.js";
import type { FieldItem } from "./parse.js";

// The items of one field (`*`, `a-b/n`, names, `L`, `15W`, `5#3`, …): an
// allocation-free fast path for the common forms, and a thorough parser that
// handles the special forms and writes every error message.

/** Throws the CronSyntaxError for a field (bound to the expression by the caller). */
export type Fail = (
  field: CronSyntaxError["field"],
  column: number,
  token: string,
  reason: string,
) => never;

export const DIGITS = /^\d+$/;

export function allowedText(spec: FieldSpec): string {
  const base = `${spec.min}-${spec.max}`;
  if (spec === MONTH) return `${base} or JAN-DEC`;
  if (spec === DAY_OF_WEEK) return `${base} (0 and 7 are Sunday) or SUN-SAT`;
  return base;
}

const CH_STAR = 42;
const CH_DASH = 45;
const CH_SLASH = 47;
const CH_0 = 48;
const CH_9 = 57;

/**
 * Parses the common item forms (`*`, `*\/n`, `a`, `a-b`, `a-b/n`, `a/n` with
 * numbers or names) without allocating; returns null for anything else, which
 * the thorough parser then handles (special forms and every error message).
 */
export function fastItem(
  spec: FieldSpec,
  text: string,
  start: number,
  end: number,
): FieldItem | null {
  let i = start;
  let from: number;
  let to: number;
  let ranged = false;
  if (text.charCodeAt(i) === CH_STAR) {
    i++;
    from = -1;
    to = -1;
  } else {
    const a = atom(spec, text, i, end);
    if (a < 0) return null;
    from = a & 0xffff;
    i = a >>> 16;
    to = from;
    if (i < end && text.charCodeAt(i) === CH_DASH) {
      const b = atom(spec, text, i + 1, end);
      if (b < 0) return null;
      to = b & 0xffff;
      i = b >>> 16;
      // FRI-SUN: Sunday ends a range as 7.
      if (spec === DAY_OF_WEEK && to === 0 && from > 0 && text.charCodeAt(i - 1) > CH_9) to = 7;
      if (from > to) return null;
      ranged = true;
    }
  }
  let step = 0;
  if (i < end) {
    if (text.charCodeAt(i) !== CH_SLASH || i + 1 === end) return null;
    for (let j = i + 1; j < end; j++) {
      const c = text.charCodeAt(j);
      if (c < CH_0 || c > CH_9 || step > 1000) return null;
      step = step * 10 + (c - CH_0);
    }
    if (step === 0 || step > spec.max - spec.min) return null;
  }
  if (from < 0) return { kind: "any", step: step || 1 };
  if (step > 0) return { kind: "range", from, to: ranged ? to : spec.max, step };
  return ranged ? { kind: "range", from, to, step: 1 } : { kind: "value", value: from };
}

/** Reads a number or a three-letter name at `i`; returns (nextIndex << 16 | value), or -1. */
function atom(spec: FieldSpec, text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c >= CH_0 && c <= CH_9) {
    let value = 0;
    let j = i;
    for (; j < end; j++) {
      const d = text.charCodeAt(j);
      if (d < CH_0 || d > CH_9) break;
      value = value * 10 + (d - CH_0);
      if (value > spec.max) return -1;
    }
    if (value < spec.min) return -1;
    return (j << 16) | value;
  }
  if (!spec.names || i + 3 > end) return -1;
  const next = text.charCodeAt(i + 3);
  if (i + 3 < end && next !== CH_DASH && next !== CH_SLASH) return -1;
  const value = spec.names[text.slice(i, i + 3).toUpperCase()];
  return value === undefined ? -1 : ((i + 3) << 16) | value;
}

export function parseItem(spec: FieldSpec, part: string, column: number, fail: Fail): FieldItem {
  const upper = part.toUpperCase();
  if (spec === DAY_OF_MONTH) {
    const special = parseDomSpecial(upper, part, column, fail);
    if (special) return special;
  }
  if (spec === DAY_OF_WEEK) {
    const special = parseDowSpecial(upper, part, column, fail);
    if (special) return special;
  }
  if (part === "?") fail(spec.name, column, part, `"?" must stand alone in the field`);

  const slash = part.indexOf("/");
  const base = slash < 0 ? part : part.slice(0, slash);
  let step = 1;
  if (slash >= 0) {
    const stepText = part.slice(slash + 1);
    const stepColumn = column + slash + 1;
    if (!DIGITS.test(stepText)) {
      fail(
        spec.name,
        stepColumn,
        stepText,
        `step ${JSON.stringify(stepText)} in ${spec.name} must be a whole number`,
      );
    }
    step = Number(stepText);
    const maxStep = spec.max - spec.min;
    if (step === 0)
      fail(
        spec.name,
        stepColumn,
        stepText,
        `step 0 in ${spec.name} would never advance; steps run 1-${maxStep}`,
      );
    if (step > maxStep) {
      let hint = "";
      if (spec === HOUR && step <= 59) hint = ": did you mean the minute field?";
      else if ((spec === MINUTE || spec === SECOND) && step % 60 === 0)
        hint = `: for every ${step} ${spec.name}s use an interval schedule ({ every: "${step / 60}${spec === MINUTE ? "h" : "m"}" })`;
      else if (spec === MINUTE || spec === SECOND)
        hint = `: for every ${step} ${spec.name}s use an interval schedule ({ every: "${step}${spec === MINUTE ? "m" : "s"}" })`;
      fail(
        spec.name,
        stepColumn,
        stepText,
        `step ${step} is larger than the ${spec.name} field allows (1-${maxStep})${hint}`,
      );
    }
    if (base === "")
      fail(
        spec.name,
        column,
        part,
        `step without a start in ${spec.name} ${JSON.stringify(part)}: write */${step} or a-b/${step}`,
      );
  }
  if (base === "*") return { kind: "any", step };

  const dash = base.indexOf("-", 1);
  if (dash >= 0) {
    const from = parseValue(spec, base.slice(0, dash), column, fail, false);
    let to = parseValue(spec, base.slice(dash + 1), column + dash + 1, fail, true);
    if (from === 0 && to === 7 && spec === DAY_OF_WEEK && !DIGITS.test(base.slice(dash + 1)))
      to = 0;
    if (from > to) {
      fail(
        spec.name,
        column,
        base,
        `range ${base} in ${spec.name} is reversed: ranges run from low to high and do not wrap around; ` +
          `for ${from} through ${to} write ${span(from, spec.max)},${span(spec.min, to)}, or did you mean ${to}-${from}?`,
      );
    }
    return { kind: "range", from, to, step };
  }
  const value = parseValue(spec, base, column, fail, false);
  if (slash >= 0) return { kind: "range", from: value, to: spec.max, step };
  return { kind: "value", value };
}

function span(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

function parseValue(
  spec: FieldSpec,
  text: string,
  column: number,
  fail: Fail,
  rangeEnd: boolean,
): number {
  if (DIGITS.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
      fail(spec.name, column, text, `${spec.name} ${text} is out of range ${allowedText(spec)}`);
    }
    return value;
  }
  const upper = text.toUpperCase();
  const named = spec.names?.[upper];
  if (named !== undefined) {
    // FRI-SUN reads naturally as Friday to Sunday: Sunday ends a range as 7.
    return spec === DAY_OF_WEEK && rangeEnd && named === 0 ? 7 : named;
  }
  const short = spec.fullNames?.[upper];
  if (short !== undefined) {
    fail(
      spec.name,
      column,
      text,
      `${spec.name} names are three letters: write ${short} instead of ${text}`,
    );
  }
  if (text === "")
    fail(spec.name, column, text, `missing value in ${spec.name}; allowed: ${allowedText(spec)}`);
  if (/^-\d+$/.test(text))
    fail(
      spec.name,
      column,
      text,
      `${spec.name} ${text} is negative; allowed: ${allowedText(spec)}`,
    );
  if (/^\d+\.\d*$/.test(text))
    fail(
      spec.name,
      column,
      text,
      `${spec.name} ${text} must be a whole number; allowed: ${allowedText(spec)}`,
    );
  let reason = `${JSON.stringify(text)} is not a valid ${spec.name}; allowed: ${allowedText(spec)}`;
  if (spec !== DAY_OF_MONTH && /^L(-\d+)?$|^\d*W$|^LW$/.test(upper)) {
    reason += " (L and W belong to the day-of-month field)";
  } else if (spec !== DAY_OF_WEEK && /^\w+[#L]\d*$/.test(upper)) {
    reason += " (# and nL belong to the day-of-week field)";
  }
  return fail(spec.name, column, text, reason);
}

function parseDomSpecial(
  upper: string,
  part: string,
  column: number,
  fail: Fail,
): FieldItem | null {
  if (upper === "L") return { kind: "last-day", offset: 0 };
  if (upper === "LW") return { kind: "last-weekday" };
  const lastOffset = /^L-(\d+)$/.exec(upper);
  if (lastOffset) {
    const n = Number(lastOffset[1]);
    if (n < 1 || n > 30)
      fail(
        "day-of-month",
        column + 2,
        lastOffset[1]!,
        `L-${n}: the offset from the last day runs 1-30`,
      );
    return { kind: "last-day", offset: n };
  }
  const weekday = /^(\d+)W$/.exec(upper);
  if (weekday) {
    const day = Number(weekday[1]);
    if (day < 1 || day > 31)
      fail("day-of-month", column, part, `${part}: the day before W runs 1-31`);
    return { kind: "nearest-weekday", day };
  }
  if (/[LW]/.test(upper) && !upper.includes("/")) {
    fail(
      "day-of-month",
      column,
      part,
      `${JSON.stringify(part)} is not valid; L, L-n, LW and nW (e.g. 15W) are the special forms`,
    );
  }
  return null;
}

function parseDowSpecial(
  upper: string,
  part: string,
  column: number,
  fail: Fail,
): FieldItem | null {
  if (upper === "L") {
    fail(
      "day-of-week",
      column,
      part,
      `"L" alone is ambiguous in day-of-week: write SAT or 6 for Saturday, or e.g. 5L for the last Friday`,
    );
  }
  const hash = /^(\w+)#(\w*)$/.exec(upper);
  if (hash) {
    const dow = parseDowName(hash[1]!, column, part, fail);
    const nthText = part.slice(hash[1]!.length + 1);
    const nth = DIGITS.test(nthText) ? Number(nthText) : NaN;
    if (!(nth >= 1 && nth <= 5)) {
      fail(
        "day-of-week",
        column + hash[1]!.length + 1,
        nthText,
        `${part}: the number after # is the week of the month, 1-5`,
      );
    }
    return { kind: "nth-dow", dow, nth };
  }
  const last = /^(\w+)L$/.exec(upper);
  if (last && !(DAY_OF_WEEK.names && upper in DAY_OF_WEEK.names)) {
    const dow = parseDowName(last[1]!, column, part, fail);
    return { kind: "last-dow", dow };
  }
  return null;
}

function parseDowName(text: string, column: number, part: string, fail: Fail): number {
  const value = DIGITS.test(text) ? Number(text) : DAY_OF_WEEK.names?.[text];
  if (value === undefined || value > 7) {
    fail(
      "day-of-week",
      column,
      part,
      `${JSON.stringify(part)}: ${text} is not a day of the week (0-7 or SUN-SAT)`,
    );
  }
  return value % 7;
}
