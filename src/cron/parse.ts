import { CronSyntaxError, InvalidArgumentError } from "../errors.js";
import {
  DAY_OF_MONTH,
  DAY_OF_WEEK,
  HOUR,
  MINUTE,
  MONTH,
  NICKNAMES,
  SECOND,
  YEAR,
  type FieldSpec,
} from "./fields.js";
import { fastItem, parseItem, type Fail } from "./parse-item.js";

/** One comma-separated element of a field, kept for descriptions. */
export type FieldItem =
  | { readonly kind: "any"; readonly step: number }
  | { readonly kind: "range"; readonly from: number; readonly to: number; readonly step: number }
  | { readonly kind: "value"; readonly value: number }
  /** `L` (offset 0) or `L-n` in day-of-month. */
  | { readonly kind: "last-day"; readonly offset: number }
  /** `15W`: the weekday nearest the 15th, within the month. */
  | { readonly kind: "nearest-weekday"; readonly day: number }
  /** `LW`: the last weekday of the month. */
  | { readonly kind: "last-weekday" }
  /** `5L`: the last Friday of the month. */
  | { readonly kind: "last-dow"; readonly dow: number }
  /** `5#3`: the third Friday of the month. */
  | { readonly kind: "nth-dow"; readonly dow: number; readonly nth: number };

/** A parsed field: its text, where it sits, its items and the plain values they cover. */
export interface ParsedField {
  readonly spec: FieldSpec;
  readonly text: string;
  readonly column: number;
  /** The text starts with `*` or is `?` (Vixie's test for "unrestricted"). */
  readonly star: boolean;
  readonly items: readonly FieldItem[];
  /** Sorted distinct values of the plain items (day-of-week folded to 0-6). */
  readonly values: readonly number[];
  /** The plain values below 30 as bits (bit v for value v). */
  readonly lo: number;
  /** The plain values from 30 up as bits (bit v-30 for value v); unused for years. */
  readonly hi: number;
}

/** The syntax tree of a cron expression. */
export interface ParsedCron {
  readonly source: string;
  /** The five-to-seven-field text parsed (a nickname's expansion). */
  readonly expanded: string;
  readonly hasSeconds: boolean;
  readonly second: ParsedField;
  readonly minute: ParsedField;
  readonly hour: ParsedField;
  readonly dayOfMonth: ParsedField;
  readonly month: ParsedField;
  readonly dayOfWeek: ParsedField;
  readonly year: ParsedField | null;
}

interface Token {
  readonly text: string;
  readonly column: number;
}

/** Parses cron text into a {@link ParsedCron}; throws CronSyntaxError with field and column. */
export function parseCronSyntax(expression: string): ParsedCron {
  if (typeof expression !== "string") {
    throw new InvalidArgumentError(
      "expression",
      'a cron expression string such as "*/5 * * * *"',
      expression,
    );
  }
  const fail = (
    field: CronSyntaxError["field"],
    column: number,
    token: string,
    reason: string,
  ): never => {
    throw new CronSyntaxError(expression, field, column, token, reason);
  };

  const tokens: Token[] = [];
  const re = /\S+/g;
  for (let m = re.exec(expression); m; m = re.exec(expression))
    tokens.push({ text: m[0], column: m.index });

  let fields = tokens;
  let expanded = expression.trim();
  const first = tokens[0];
  if (first?.text.startsWith("@")) {
    const nickname = first.text.toLowerCase();
    const body = NICKNAMES[nickname];
    if (body === undefined) {
      const hint =
        nickname === "@reboot" ? "@reboot runs at start-up, which is not a schedule" : "";
      fail(
        "expression",
        first.column,
        first.text,
        `unknown nickname ${first.text}${hint ? ` (${hint})` : ""}; allowed: ${Object.keys(NICKNAMES).join(" ")}`,
      );
    }
    if (tokens.length > 1) {
      const extra = tokens[1]!;
      fail(
        "expression",
        extra.column,
        extra.text,
        `a nickname stands alone, found ${JSON.stringify(extra.text)} after ${first.text}`,
      );
    }
    expanded = body!;
    // Point every field of the expansion at the nickname itself.
    fields = body!.split(" ").map((text) => ({ text, column: first.column }));
  }

  if (fields.length < 5 || fields.length > 7) {
    const at = fields.length > 7 ? fields[7]!.column : expression.length;
    fail(
      "expression",
      at,
      fields.length > 7 ? fields[7]!.text : "",
      `expected 5 fields (minute hour day-of-month month day-of-week), 6 (with seconds first) or 7 (seconds first, year last), found ${fields.length}`,
    );
  }
  const hasSeconds = fields.length >= 6;
  const at = (i: number): Token => fields[hasSeconds ? i : i - 1]!;
  const secondToken: Token = hasSeconds ? fields[0]! : { text: "0", column: -1 };

  const parse = (spec: FieldSpec, token: Token): ParsedField => parseField(spec, token, fail);
  const second = hasSeconds ? parse(SECOND, secondToken) : plainField(SECOND, "0", 0);
  const minute = parse(MINUTE, at(1));
  const hour = parse(HOUR, at(2));
  const dayOfMonth = parse(DAY_OF_MONTH, at(3));
  const month = parse(MONTH, at(4));
  const dayOfWeek = parse(DAY_OF_WEEK, at(5));
  const year = fields.length === 7 ? parse(YEAR, fields[6]!) : null;
  for (const f of [second, minute, hour, month]) {
    if (f.text === "?")
      fail(
        f.spec.name,
        f.column,
        "?",
        `"?" is only allowed in the day-of-month and day-of-week fields`,
      );
  }
  return {
    source: expression,
    expanded,
    hasSeconds,
    second,
    minute,
    hour,
    dayOfMonth,
    month,
    dayOfWeek,
    year,
  };
}

function plainField(spec: FieldSpec, text: string, value: number): ParsedField {
  return new Field(spec, text, -1, false, [{ kind: "value", value }], 1 << value, 0);
}

/**
 * A parsed field. Plain values are kept as two 30-bit masks (`lo` for 0-29,
 * `hi` for 30-59) so that compiling needs no tables; `values` is derived on demand.
 */
class Field implements ParsedField {
  readonly spec: FieldSpec;
  readonly text: string;
  readonly column: number;
  readonly star: boolean;
  readonly items: readonly FieldItem[];
  readonly lo: number;
  readonly hi: number;
  readonly #years: readonly number[] | undefined;

  constructor(
    spec: FieldSpec,
    text: string,
    column: number,
    star: boolean,
    items: readonly FieldItem[],
    lo: number,
    hi: number,
    years?: readonly number[],
  ) {
    this.spec = spec;
    this.text = text;
    this.column = column;
    this.star = star;
    this.items = items;
    this.lo = lo;
    this.hi = hi;
    this.#years = years;
  }

  get values(): readonly number[] {
    if (this.#years) return this.#years;
    const out: number[] = [];
    for (let v = 0; v < 30; v++) if (this.lo & (1 << v)) out.push(v);
    for (let v = 0; v < 30; v++) if (this.hi & (1 << v)) out.push(v + 30);
    return out;
  }
}

function parseField(spec: FieldSpec, token: Token, fail: Fail): ParsedField {
  const { text, column } = token;
  if (text === "?") {
    if (spec !== DAY_OF_MONTH && spec !== DAY_OF_WEEK) {
      fail(
        spec.name,
        column,
        text,
        `"?" is only allowed in the day-of-month and day-of-week fields`,
      );
    }
    const all = spec === DAY_OF_WEEK ? 0x7f : 0x7ffffffe & 0x3fffffff;
    return new Field(
      spec,
      text,
      column,
      true,
      [{ kind: "any", step: 1 }],
      all,
      spec === DAY_OF_WEEK ? 0 : 0b11,
    );
  }
  const items: FieldItem[] = [];
  const isYear = spec === YEAR;
  const years = isYear ? new Set<number>() : undefined;
  let lo = 0;
  let hi = 0;
  let start = 0;
  for (;;) {
    const comma = text.indexOf(",", start);
    const end = comma < 0 ? text.length : comma;
    if (end === start) {
      fail(
        spec.name,
        column + start,
        "",
        `empty list element in ${spec.name} ${JSON.stringify(text)}; separate values with single commas, e.g. 1,15`,
      );
    }
    const item =
      fastItem(spec, text, start, end) ??
      parseItem(spec, text.slice(start, end), column + start, fail);
    items.push(item);
    let from = 0;
    let to = -1;
    let step = 1;
    if (item.kind === "any") {
      from = spec.min;
      to = spec.max;
      step = item.step;
    } else if (item.kind === "range") {
      from = item.from;
      to = item.to;
      step = item.step;
    } else if (item.kind === "value") {
      from = to = item.value;
    }
    for (let v = from; v <= to; v += step) {
      if (years) years.add(v);
      else {
        const folded = v === 7 && spec === DAY_OF_WEEK ? 0 : v;
        if (folded < 30) lo |= 1 << folded;
        else hi |= 1 << (folded - 30);
      }
    }
    if (comma < 0) break;
    start = comma + 1;
  }
  // "*/6,0" is fine (cronie takes it), but a bare "*" beside other values is surely a mistake.
  if (items.length > 1 && items.some((i) => i.kind === "any" && i.step === 1)) {
    fail(
      spec.name,
      column,
      text,
      `"*" already covers every ${spec.name}, so it cannot be combined with other values in a list`,
    );
  }
  const yearValues = years ? [...years].sort((a, b) => a - b) : undefined;
  return new Field(spec, text, column, text.charCodeAt(0) === 42, items, lo, hi, yearValues);
}
