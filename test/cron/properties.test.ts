import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseCron, type CronExpression, type CronOptions } from "../../src/cron/index.js";
import {
  DOM,
  DOW,
  HOUR,
  MIN,
  MON,
  SEC,
  YEAR,
  ZONES,
  offsetChangeArb,
  render,
  treeArb,
  type Field,
  type Item,
  type Spec,
  type Tree,
} from "../helpers/cron-trees.js";
import { intlOffset as offsetOf } from "../helpers/intl-offset.js";

/**
 * One of three ways correctness is shown (with the golden vectors and the
 * DST tables): properties over random
 * valid expressions, zones and instants (1990-2090):
 * - next(from) > from and matches(next(from));
 * - nothing matches strictly between from and next(from), by brute force over
 *   a bounded window after from and before next(from);
 * - prev(next(t)) <= t and next(prev(t)) >= t.
 * Expressions are generated as a small syntax tree and rendered to text, so a
 * reference matcher that shares no code with the engine can also judge local
 * times wherever the zone's offset is constant.
 */

const SEED = Number(process.env.FC_SEED ?? 20_241_103);

const MIN_MS = Date.UTC(1990, 0, 1);
const MAX_MS = Date.UTC(2090, 0, 1);
const instantArb = fc.oneof(
  fc.integer({ min: MIN_MS, max: MAX_MS }),
  // Whole minutes, which are often runs themselves.
  fc.integer({ min: MIN_MS / 60_000, max: MAX_MS / 60_000 }).map((m) => m * 60_000),
);

// ---------- a reference matcher, independent of the engine ----------

/** The plain values of a field's items, computed once per field of a sample (the gap checks ask often). */
const valueSets = new WeakMap<Spec, WeakMap<readonly Item[], Set<number>>>();

function values(spec: Spec, items: readonly Item[]): Set<number> {
  let ofSpec = valueSets.get(spec);
  if (ofSpec === undefined) valueSets.set(spec, (ofSpec = new WeakMap()));
  let set = ofSpec.get(items);
  if (set !== undefined) return set;
  set = new Set<number>();
  for (const item of items) {
    if (item.k === "star") for (let v = spec.min; v <= spec.max; v += item.step) set.add(v);
    else if (item.k === "value") set.add(item.v);
    else if (item.k === "range") for (let v = item.a; v <= item.b; v += item.step) set.add(v);
    else if (item.k === "from") for (let v = item.a; v <= spec.max; v += item.step) set.add(v);
  }
  ofSpec.set(items, set);
  return set;
}

function fieldHas(spec: Spec, f: Field | null, v: number, fallback: boolean): boolean {
  if (f === null) return fallback;
  if (f === "?") return true;
  return values(spec, f).has(v);
}

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();

function domMatches(f: Field, y: number, m: number, d: number): boolean {
  if (f === "?") return true;
  const len = daysIn(y, m);
  if (values(DOM, f).has(d)) return true;
  for (const item of f) {
    if (item.k === "last-day" && d === len - item.offset) return true;
    if (item.k === "last-weekday") {
      const w = weekday(y, m, len);
      if (d === (w === 6 ? len - 1 : w === 0 ? len - 2 : len)) return true;
    }
    if (item.k === "nearest-weekday" && item.day <= len) {
      const w = weekday(y, m, item.day);
      let target = item.day;
      if (w === 6) target = item.day === 1 ? 3 : item.day - 1;
      if (w === 0) target = item.day === len ? item.day - 2 : item.day + 1;
      if (d === target) return true;
    }
  }
  return false;
}

function dowMatches(f: Field, y: number, m: number, d: number): boolean {
  if (f === "?") return true;
  const w = weekday(y, m, d);
  const plain = values(DOW, f);
  if (plain.has(w) || (w === 0 && plain.has(7))) return true;
  for (const item of f) {
    if (item.k === "last-dow" && item.dow % 7 === w && d + 7 > daysIn(y, m)) return true;
    if (item.k === "nth-dow" && item.dow % 7 === w && Math.ceil(d / 7) === item.nth) return true;
  }
  return false;
}

const starred = (f: Field) => f === "?" || f[0]?.k === "star";

/** Does the naive local time `local` (ms, read as UTC) match the tree's fields? */
function referenceMatches(tree: Tree, local: number): boolean {
  const t = new Date(local);
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth() + 1;
  const d = t.getUTCDate();
  if (!fieldHas(SEC, tree.seconds, t.getUTCSeconds(), t.getUTCSeconds() === 0)) return false;
  if (!fieldHas(MIN, tree.minute, t.getUTCMinutes(), false)) return false;
  if (!fieldHas(HOUR, tree.hour, t.getUTCHours(), false)) return false;
  if (!fieldHas(MON, tree.month, m, false)) return false;
  if (!fieldHas(YEAR, tree.year, y, true)) return false;
  const dom = domMatches(tree.dom, y, m, d);
  const dow = dowMatches(tree.dow, y, m, d);
  const and =
    tree.dayMatch === "and" ||
    (tree.dayMatch === "vixie" && (starred(tree.dom) || starred(tree.dow)));
  return and ? dom && dow : dom || dow;
}

// ---------- the properties ----------

const WINDOW_STEPS = 240;

interface Sample {
  readonly tree: Tree;
  readonly text: string;
  readonly zone: string;
  readonly cron: CronExpression;
}

function sample(tree: Tree, zone: string): Sample {
  const text = render(tree);
  const options: CronOptions = { timezone: zone, dayMatch: tree.dayMatch };
  return { tree, text, zone, cron: parseCron(text, options) };
}

/** Candidate run instants in [lo, hi): whole seconds, or whole minutes without a seconds field. */
function* candidates(lo: number, hi: number, stepMs: number, max: number): Generator<number> {
  let c = Math.ceil(lo / stepMs) * stepMs;
  for (let n = 0; c < hi && n < max; n++, c += stepMs) yield c;
}

/** Checks no candidate in the open interval (from, next) matches, near both ends. */
function checkGap(s: Sample, from: number, next: number): void {
  const stepMs = s.tree.seconds === null ? 60_000 : 1000;
  const label = `${JSON.stringify(s.text)} in ${s.zone} from ${new Date(from).toISOString()} (next ${new Date(next).toISOString()})`;
  const lo = Math.floor(from / 1000) * 1000 + 1000;
  const tail = Math.max(lo, next - WINDOW_STEPS * stepMs);
  const ranges: [number, number][] =
    tail > lo + WINDOW_STEPS * stepMs
      ? [
          [lo, lo + WINDOW_STEPS * stepMs],
          [tail, next],
        ]
      : [[lo, next]];
  for (const [a, b] of ranges) {
    // Where the offset is the same at both ends (no transition within), the
    // reference matcher judges local times too.
    const offset = offsetOf(s.zone, a);
    const stable =
      b - a < 86_400_000 &&
      offsetOf(s.zone, a - 86_400_000) === offset &&
      offsetOf(s.zone, b) === offset;
    for (const c of candidates(a, b, stepMs, 2 * WINDOW_STEPS + 2)) {
      // The same assertions, their messages built only when they fail (hundreds of candidates per sample).
      const matched = s.cron.matches(new Date(c));
      if (matched !== false)
        assert.equal(matched, false, `${label}: matches(${new Date(c).toISOString()})`);
      if (stable) {
        const judged = referenceMatches(s.tree, c + offset);
        if (judged !== false)
          assert.equal(judged, false, `${label}: reference says ${new Date(c).toISOString()} runs`);
      }
    }
  }
}

void describe("properties of next, prev and matches", () => {
  void it("next(from) > from, matches(next(from)), and nothing matches in between", () => {
    fc.assert(
      fc.property(treeArb, fc.constantFrom(...ZONES), instantArb, (tree, zone, from) => {
        const s = sample(tree, zone);
        const next = s.cron.next(new Date(from));
        if (next === null) return;
        const n = next.getTime();
        const label = `${JSON.stringify(s.text)} in ${zone} from ${new Date(from).toISOString()}`;
        assert.ok(n > from, `${label}: next ${next.toISOString()} is not after from`);
        assert.equal(n % 1000, 0, `${label}: next ${next.toISOString()} is not a whole second`);
        assert.ok(
          s.cron.matches(next),
          `${label}: matches(next) is false for ${next.toISOString()}`,
        );
        const offset = offsetOf(zone, n);
        if (
          offsetOf(zone, n - 86_400_000) === offset &&
          offsetOf(zone, n + 86_400_000) === offset
        ) {
          assert.ok(
            referenceMatches(tree, n + offset),
            `${label}: reference rejects next ${next.toISOString()}`,
          );
        }
        checkGap(s, from, n);
      }),
      { seed: SEED, numRuns: 1000, includeErrorInReport: true },
    );
  });

  void it("prev(next(t)) <= t and next(prev(t)) >= t", () => {
    fc.assert(
      fc.property(treeArb, fc.constantFrom(...ZONES), instantArb, (tree, zone, t) => {
        const s = sample(tree, zone);
        const label = `${JSON.stringify(s.text)} in ${zone} at ${new Date(t).toISOString()}`;
        const next = s.cron.next(new Date(t));
        if (next !== null) {
          const back = s.cron.prev(next);
          assert.ok(
            back === null || back.getTime() <= t,
            `${label}: prev(next) = ${back?.toISOString()}`,
          );
          // <= t, exactly: t itself when t is a run, else prev(t).
          const expected = s.cron.matches(new Date(t)) ? new Date(t) : s.cron.prev(new Date(t));
          assert.equal(back?.toISOString(), expected?.toISOString(), `${label}: prev(next)`);
        }
        const prev = s.cron.prev(new Date(t));
        if (prev !== null) {
          assert.ok(prev.getTime() < t, `${label}: prev ${prev.toISOString()} is not before t`);
          assert.ok(
            s.cron.matches(prev),
            `${label}: matches(prev) is false for ${prev.toISOString()}`,
          );
          const forward = s.cron.next(prev);
          // >= t, exactly: t itself when t is a run, else next(t) (null when the schedule ended).
          const expected = s.cron.matches(new Date(t)) ? new Date(t) : next;
          assert.ok(
            forward === null || forward.getTime() >= t,
            `${label}: next(prev) = ${forward?.toISOString()}`,
          );
          assert.equal(
            forward?.toISOString(),
            expected?.toISOString(),
            `${label}: next(prev) = ${forward?.toISOString()}`,
          );
          checkGap(s, prev.getTime(), t);
        }
      }),
      { seed: SEED + 1, numRuns: 1000, includeErrorInReport: true },
    );
  });

  void it("a chain of next() from one expression agrees with a fresh parse at every step, and after a step back", () => {
    // The engine remembers the day of its last answer (a chain mostly stays in it):
    // what it answers from there must be what a cold expression answers.
    fc.assert(
      fc.property(treeArb, fc.constantFrom(...ZONES), instantArb, (tree, zone, from) => {
        const s = sample(tree, zone);
        const cold = (t: number) => sample(tree, zone).cron.nextMs(t);
        const label = `${JSON.stringify(s.text)} in ${zone} from ${new Date(from).toISOString()}`;
        let t = from;
        for (let step = 0; step < 40 && !Number.isNaN(t); step++) {
          const warm = s.cron.nextMs(t);
          assert.equal(warm, cold(t), `${label}: step ${step} from ${new Date(t).toISOString()}`);
          t = warm;
        }
        const back = from + Math.floor((t - from) / 3);
        if (!Number.isNaN(back))
          assert.equal(s.cron.nextMs(back), cold(back), `${label}: back to ${back}`);
      }),
      { seed: SEED + 3, numRuns: 300, includeErrorInReport: true },
    );
  });

  void it("the same properties right around DST transitions", () => {
    // Start within a few hours of a transition of the zone (found with Intl
    // by bisection), where the cronie rules apply.
    const transitionArb = fc
      .tuple(offsetChangeArb(), fc.integer({ min: -4 * 3_600_000, max: 4 * 3_600_000 }))
      .map(([{ zone, at }, shiftMs]) => ({ zone, from: at + shiftMs }));
    fc.assert(
      fc.property(treeArb, transitionArb, (tree, { zone, from }) => {
        const s = sample(tree, zone);
        const label = `${JSON.stringify(s.text)} in ${zone} from ${new Date(from).toISOString()}`;
        const next = s.cron.next(new Date(from));
        if (next === null) return;
        assert.ok(next.getTime() > from, `${label}: next ${next.toISOString()}`);
        assert.ok(
          s.cron.matches(next),
          `${label}: matches(next) is false for ${next.toISOString()}`,
        );
        checkGap(s, from, next.getTime());
        const back = s.cron.prev(next);
        assert.ok(
          back === null || back.getTime() <= from,
          `${label}: prev(next) = ${back?.toISOString()}`,
        );
        const prev = s.cron.prev(new Date(from));
        if (prev !== null) {
          const forward = s.cron.next(prev);
          assert.ok(
            forward !== null && forward.getTime() >= from,
            `${label}: next(prev) = ${forward?.toISOString()}`,
          );
        }
      }),
      { seed: SEED + 2, numRuns: 600, includeErrorInReport: true },
    );
  });
});
