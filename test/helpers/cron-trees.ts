/**
 * Random valid cron expressions for property tests: a small syntax tree
 * (fast-check arbitraries) rendered to text, so that a test can also judge
 * local times with a reference matcher that shares no code with the engine;
 * the zones they run in; and the offset changes of a zone, found with Intl.
 */
import fc from "fast-check";
import { intlOffset } from "./intl-offset.js";

export type Item =
  | { readonly k: "star"; readonly step: number }
  | { readonly k: "value"; readonly v: number; readonly name: boolean }
  | {
      readonly k: "range";
      readonly a: number;
      readonly b: number;
      readonly step: number;
      readonly names: boolean;
    }
  | { readonly k: "from"; readonly a: number; readonly step: number }
  | { readonly k: "last-day"; readonly offset: number }
  | { readonly k: "nearest-weekday"; readonly day: number }
  | { readonly k: "last-weekday" }
  | { readonly k: "last-dow"; readonly dow: number }
  | { readonly k: "nth-dow"; readonly dow: number; readonly nth: number };

/** A field: `?`, or a list of items (a `*` item only ever alone). */
export type Field = "?" | readonly Item[];

export interface Spec {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly nameOffset?: number;
}

export const SEC: Spec = { min: 0, max: 59 };
export const MIN: Spec = { min: 0, max: 59 };
export const HOUR: Spec = { min: 0, max: 23 };
export const DOM: Spec = { min: 1, max: 31 };
export const MON: Spec = {
  min: 1,
  max: 12,
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  nameOffset: 1,
};
export const DOW: Spec = {
  min: 0,
  max: 7,
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
  nameOffset: 0,
};
export const YEAR: Spec = { min: 1970, max: 2199 };

export interface Tree {
  readonly seconds: Field | null;
  readonly minute: Field;
  readonly hour: Field;
  readonly dom: Field;
  readonly month: Field;
  readonly dow: Field;
  readonly year: Field | null;
  readonly dayMatch: "vixie" | "or" | "and";
}

function nameOf(spec: Spec, v: number, lower: boolean): string {
  const name = spec.names?.[v - (spec.nameOffset ?? 0)];
  if (name === undefined) return String(v);
  return lower ? name.toLowerCase() : name;
}

function itemText(spec: Spec, item: Item): string {
  const stepText = (step: number) => (step === 1 ? "" : `/${step}`);
  switch (item.k) {
    case "star":
      return `*${stepText(item.step)}`;
    case "value":
      return item.name ? nameOf(spec, item.v, item.v % 2 === 0) : String(item.v);
    case "range": {
      const a = item.names ? nameOf(spec, item.a, false) : String(item.a);
      // SUN ends a day-of-week range as 7 (FRI-SUN); 7 has no other name.
      const b =
        item.names && spec === DOW && item.b === 7
          ? "SUN"
          : item.names
            ? nameOf(spec, item.b, false)
            : String(item.b);
      return `${a}-${b}${stepText(item.step)}`;
    }
    case "from":
      return `${item.a}/${item.step}`;
    case "last-day":
      return item.offset === 0 ? "L" : `L-${item.offset}`;
    case "nearest-weekday":
      return `${item.day}W`;
    case "last-weekday":
      return "LW";
    case "last-dow":
      return `${item.dow}L`;
    case "nth-dow":
      return `${item.dow}#${item.nth}`;
  }
}

function fieldText(spec: Spec, field: Field): string {
  return field === "?" ? "?" : field.map((i) => itemText(spec, i)).join(",");
}

export function render(tree: Tree): string {
  const parts = [
    fieldText(MIN, tree.minute),
    fieldText(HOUR, tree.hour),
    fieldText(DOM, tree.dom),
    fieldText(MON, tree.month),
    fieldText(DOW, tree.dow),
  ];
  if (tree.seconds !== null) parts.unshift(fieldText(SEC, tree.seconds));
  if (tree.year !== null) parts.push(fieldText(YEAR, tree.year));
  return parts.join(" ");
}

// ---------- generators ----------

function plainItem(spec: Spec): fc.Arbitrary<Item> {
  const span = spec.max - spec.min;
  const value = fc.integer({ min: spec.min, max: spec.max });
  const step = fc.integer({ min: 1, max: Math.max(1, Math.min(span, 20)) });
  const named = spec.names !== undefined;
  // Names exist for 1-12 (month) and 0-6 (day of week).
  const nameable = (v: number) => named && v - (spec.nameOffset ?? 0) < (spec.names?.length ?? 0);
  return fc.oneof(
    fc.record({ v: value, name: fc.boolean() }).map(({ v, name }): Item => ({
      k: "value",
      v,
      name: name && nameable(v),
    })),
    fc
      .record({ a: value, b: value, step, names: fc.boolean() })
      .map(({ a, b, step: s, names }): Item => {
        const lo = Math.min(a, b);
        const hi = Math.max(a, b);
        // SUN ends a range as 7 only after a later start (SUN-SUN is Sunday alone).
        const canName =
          names && nameable(lo) && (nameable(hi) || (spec === DOW && hi === 7 && lo > 0));
        return { k: "range", a: lo, b: hi, step: s, names: canName };
      }),
    fc.record({ a: value, step }).map(({ a, step: s }): Item => ({ k: "from", a, step: s })),
  );
}

function field(
  spec: Spec,
  specials: fc.Arbitrary<Item>[] = [],
  question = false,
): fc.Arbitrary<Field> {
  const span = spec.max - spec.min;
  const star = fc
    .oneof(fc.constant(1), fc.integer({ min: 1, max: Math.max(1, Math.min(span, 30)) }))
    .map((step): Field => [{ k: "star", step }]);
  const list = fc
    .array(fc.oneof(plainItem(spec), ...specials), { minLength: 1, maxLength: 3 })
    .map((items): Field => items);
  const options: fc.Arbitrary<Field>[] = [star, list];
  if (question) options.push(fc.constant<Field>("?"));
  return fc.oneof(...options);
}

const domSpecials: fc.Arbitrary<Item>[] = [
  fc.integer({ min: 0, max: 30 }).map((offset): Item => ({ k: "last-day", offset })),
  fc.integer({ min: 1, max: 31 }).map((day): Item => ({ k: "nearest-weekday", day })),
  fc.constant<Item>({ k: "last-weekday" }),
];
const dowSpecials: fc.Arbitrary<Item>[] = [
  fc.integer({ min: 0, max: 7 }).map((dow): Item => ({ k: "last-dow", dow })),
  fc
    .record({ dow: fc.integer({ min: 0, max: 7 }), nth: fc.integer({ min: 1, max: 5 }) })
    .map(({ dow, nth }): Item => ({ k: "nth-dow", dow, nth })),
];

const yearField: fc.Arbitrary<Field> = fc.oneof(
  fc.constant<Field>([{ k: "star", step: 1 }]),
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 1990, max: 2100 }).map((v): Item => ({ k: "value", v, name: false })),
        fc
          .record({
            a: fc.integer({ min: 1985, max: 2090 }),
            len: fc.integer({ min: 0, max: 40 }),
            step: fc.integer({ min: 1, max: 5 }),
          })
          .map(({ a, len, step }): Item => ({ k: "range", a, b: a + len, step, names: false })),
      ),
      { minLength: 1, maxLength: 2 },
    )
    .map((items): Field => items),
);

/** Mostly dense fields in the time of day, so that windows hold runs. */
export const treeArb: fc.Arbitrary<Tree> = fc
  .record({
    seconds: fc.option(field(SEC), { freq: 3 }),
    minute: field(MIN),
    hour: field(HOUR),
    dom: field(DOM, domSpecials, true),
    month: field(MON),
    dow: field(DOW, dowSpecials, true),
    year: fc.option(yearField, { freq: 4 }),
    dayMatch: fc.constantFrom("vixie", "vixie", "or", "and"),
  })
  .map((tree): Tree =>
    // A year field needs the seconds field (7 fields).
    tree.year !== null && tree.seconds === null
      ? { ...tree, seconds: [{ k: "value", v: 0, name: false }] }
      : tree,
  );

export const ZONES = [
  "America/New_York",
  "Europe/London",
  "Europe/Berlin",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Asia/Kolkata",
  "UTC",
  // A few more: -03:30 DST, +05:45, a skipped calendar day (2011-12-30),
  // two-hour DST, abolished DST, Ramadan suspensions of DST.
  "America/St_Johns",
  "Asia/Kathmandu",
  "Pacific/Apia",
  "Antarctica/Troll",
  "America/Sao_Paulo",
  "Africa/Casablanca",
  "Australia/Sydney",
  "America/Santiago",
];

/** The zones above that change offset. */
export const CHANGING_ZONES = ZONES.filter(
  (z) => !["UTC", "Asia/Kolkata", "Asia/Kathmandu"].includes(z),
);

/**
 * An offset change of one of `zones` (the first in a random half-year of
 * 1990-2089, found with Intl by bisection; the half-year's start if none).
 */
export function offsetChangeArb(
  zones: readonly string[] = CHANGING_ZONES,
): fc.Arbitrary<{ zone: string; at: number }> {
  return fc
    .record({
      zone: fc.constantFrom(...zones),
      year: fc.integer({ min: 1990, max: 2089 }),
      half: fc.boolean(),
    })
    .map(({ zone, year, half }) => {
      const start = Date.UTC(year, half ? 6 : 0, 1);
      return { zone, at: transitionNear(zone, start, Date.UTC(year, half ? 12 : 6, 1)) ?? start };
    });
}

/** The first offset change of `zone` in [lo, hi), to the second, or null. */
export function transitionNear(zone: string, lo: number, hi: number): number | null {
  const step = 7 * 86_400_000;
  let a = lo;
  const first = intlOffset(zone, lo);
  for (let b = lo + step; a < hi; a = b, b += step) {
    const end = Math.min(b, hi);
    if (intlOffset(zone, end) !== first) {
      let x = a;
      let y = end;
      while (y - x > 1000) {
        const mid = x + Math.floor((y - x) / 2000) * 1000;
        if (intlOffset(zone, mid) === first) x = mid;
        else y = mid;
      }
      return y;
    }
  }
  return null;
}
