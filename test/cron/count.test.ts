import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseCron, type CronExpression, type CronOptions } from "../../src/cron/index.js";
import {
  CHANGING_ZONES,
  offsetChangeArb,
  render,
  transitionNear,
  treeArb,
  ZONES,
  type Tree,
} from "../helpers/cron-trees.js";

/**
 * `countBetween(after, through)` and `listBetweenMs` must give exactly what
 * walking `next()` from `after` gives: the same number of runs in (after,
 * through], the same first ones. Checked over random expressions, zones,
 * daylight-saving policies and intervals up to a few months, around offset
 * changes (daylight saving and changes of clock), and on cases counted by hand.
 */

const SEED = Number(process.env.FC_SEED ?? 20_250_115);
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Runs walked with next() per check; a longer interval is checked at both ends and split. */
const WALK_CAP = 3_000;

/**
 * Added to the property tests' zones: a day repeated (Kwajalein 1969), days
 * skipped (Kiritimati 1994), changes of exactly 3 hours (Casey), negative
 * daylight saving (Dublin).
 */
const EXTRA_ZONES = [
  "Pacific/Kwajalein",
  "Antarctica/Casey",
  "Pacific/Kiritimati",
  "Europe/Dublin",
];
const COUNT_ZONES = [...ZONES, ...EXTRA_ZONES];

const dstArb: fc.Arbitrary<CronOptions["dst"]> = fc.option(
  fc.record(
    {
      gap: fc.constantFrom("shift" as const, "skip" as const),
      overlap: fc.constantFrom("first" as const, "both" as const),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

/** Interval lengths from a second to a few months, most of them short enough to walk. */
const lengthArb = fc.oneof(
  fc.integer({ min: 0, max: 2 * HOUR_MS }),
  fc.integer({ min: 0, max: 3 * DAY_MS }),
  fc.integer({ min: 0, max: 100 * DAY_MS }),
);

interface Walked {
  /** Runs found, at most WALK_CAP. */
  readonly runs: number[];
  /** True when the walk passed `throughMs` (so `runs` are all of them). */
  readonly complete: boolean;
}

function walkNext(cron: CronExpression, afterMs: number, throughMs: number): Walked {
  const runs: number[] = [];
  for (let t = cron.nextMs(afterMs); !Number.isNaN(t) && t <= throughMs; t = cron.nextMs(t)) {
    if (runs.length === WALK_CAP) return { runs, complete: false };
    runs.push(t);
  }
  return { runs, complete: true };
}

function walkPrev(cron: CronExpression, throughMs: number, max: number): number[] {
  const runs: number[] = [];
  for (let t = cron.prevMs(throughMs + 1); !Number.isNaN(t) && runs.length < max;) {
    runs.push(t);
    t = cron.prevMs(t);
  }
  return runs;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * count(after, through) against walking next(): equal when the walk ends; for
 * longer intervals, exact over the first WALK_CAP runs, over the last WALK_CAP
 * (walked back with prev()), and additive at a point in between.
 */
function checkCount(cron: CronExpression, afterMs: number, throughMs: number, midMs: number): void {
  const label = `${JSON.stringify(cron.source)} in ${cron.timezone} dst ${JSON.stringify(cron.dst)} over (${iso(afterMs)}, ${iso(throughMs)}]`;
  const count = cron.countBetweenMs(afterMs, throughMs);
  const walked = walkNext(cron, afterMs, throughMs);
  const listed = cron.listBetweenMs(afterMs, throughMs, 100);
  assert.deepEqual(listed.map(iso), walked.runs.slice(0, 100).map(iso), `${label}: the first runs`);
  if (walked.complete) {
    assert.equal(count, walked.runs.length, `${label}: count`);
    return;
  }
  const head = walked.runs[WALK_CAP - 1]!;
  assert.equal(cron.countBetweenMs(afterMs, head), WALK_CAP, `${label}: through run ${WALK_CAP}`);
  assert.equal(cron.countBetweenMs(afterMs, head - 1), WALK_CAP - 1, `${label}: just before it`);
  const tail = walkPrev(cron, throughMs, WALK_CAP);
  const from = tail[tail.length - 1]!;
  assert.equal(cron.countBetweenMs(from - 1, throughMs), tail.length, `${label}: the last runs`);
  assert.equal(
    cron.countBetweenMs(from, throughMs),
    tail.length - 1,
    `${label}: after the first of them`,
  );
  assert.ok(count >= WALK_CAP, `${label}: count ${count} below the ${WALK_CAP} walked`);
  const m =
    afterMs + (((midMs % (throughMs - afterMs)) + (throughMs - afterMs)) % (throughMs - afterMs));
  assert.equal(
    cron.countBetweenMs(afterMs, m) + cron.countBetweenMs(m, throughMs),
    count,
    `${label}: split at ${iso(m)}`,
  );
}

function compile(tree: Tree, zone: string, dst: CronOptions["dst"]): CronExpression {
  return parseCron(render(tree), {
    timezone: zone,
    dayMatch: tree.dayMatch,
    ...(dst ? { dst } : {}),
  });
}

void describe("countBetween: the runs walking next() finds, counted without walking", () => {
  void it("over random expressions, zones, policies and intervals up to a few months", () => {
    fc.assert(
      fc.property(
        treeArb,
        fc.constantFrom(...COUNT_ZONES),
        dstArb,
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }),
        lengthArb,
        fc.nat(),
        (tree, zone, dst, afterMs, length, mid) => {
          checkCount(compile(tree, zone, dst), afterMs, afterMs + length, mid);
        },
      ),
      { seed: SEED, numRuns: 400, includeErrorInReport: true },
    );
  });

  void it("across offset changes: daylight saving, 30- and 45-minute shifts, skipped and repeated days", () => {
    const around = fc
      .tuple(
        offsetChangeArb(
          COUNT_ZONES.filter((z) => CHANGING_ZONES.includes(z) || !ZONES.includes(z)),
        ),
        fc.integer({ min: 0, max: 30 * HOUR_MS }),
        fc.integer({ min: 0, max: 30 * HOUR_MS }),
      )
      .map(([{ zone, at }, before, after]) => ({
        zone,
        afterMs: at - before,
        throughMs: at + after,
      }));
    // The changes of clock of more than 3 hours (docs/guides/cron.md), a day either side.
    const jumps = fc
      .record({
        at: fc.constantFrom(
          { zone: "Pacific/Apia", ms: Date.parse("2011-12-30T10:00:00Z") },
          { zone: "Pacific/Kiritimati", ms: Date.parse("1994-12-31T10:00:00Z") },
          { zone: "Pacific/Kwajalein", ms: Date.parse("1969-09-30T13:00:00Z") },
        ),
        before: fc.integer({ min: 0, max: 48 * HOUR_MS }),
        after: fc.integer({ min: 0, max: 48 * HOUR_MS }),
      })
      .map(({ at, before, after }) => ({
        zone: at.zone,
        afterMs: at.ms - before,
        throughMs: at.ms + after,
      }));
    fc.assert(
      fc.property(treeArb, fc.oneof(around, jumps), dstArb, fc.nat(), (tree, range, dst, mid) => {
        checkCount(compile(tree, range.zone, dst), range.afterMs, range.throughMs, mid);
      }),
      { seed: SEED + 1, numRuns: 400, includeErrorInReport: true },
    );
  });
});

/** Fixed and dense times of day that fall in, at the edges of, and around offset changes. */
const NEAR_CHANGE_EXPRESSIONS = [
  "* * * * *",
  "0,30 * * * *",
  "*/15 0-4 * * *",
  "0 0 * * *",
  "30 0 * * *",
  "0 1 * * *",
  "30 1 * * *",
  "0 2 * * *",
  "30 2 * * *",
  "45 2 * * *",
  "0 3 * * *",
  "0,30 2-3 * * *",
  "15 */2 * * *",
  "* 2 * * 0",
  "*/20 * 0-4 * * *",
];
const POLICIES: readonly CronOptions["dst"][] = [
  { gap: "shift", overlap: "first" },
  { gap: "shift", overlap: "both" },
  { gap: "skip", overlap: "first" },
  { gap: "skip", overlap: "both" },
];
/** Zones and the years whose offset changes are checked. */
const CHANGES: readonly (readonly [string, number])[] = [
  ["America/New_York", 2024],
  ["Europe/Berlin", 2024],
  ["Europe/Dublin", 2024],
  ["Australia/Lord_Howe", 2024],
  ["Pacific/Chatham", 2024],
  ["America/St_Johns", 2024],
  ["America/Santiago", 2024],
  ["Antarctica/Troll", 2024],
  ["Antarctica/Casey", 2018],
  ["Pacific/Apia", 2011],
  ["Pacific/Kiritimati", 1994],
  ["Pacific/Kwajalein", 1969],
];

void describe("countBetween: every policy around the offset changes of a year", () => {
  for (const [zone, year] of CHANGES) {
    void it(`${zone} ${year}`, () => {
      for (let t = Date.UTC(year, 0, 1), n = 0; n < 4; n++) {
        const at = transitionNear(zone, t, Date.UTC(year + 1, 0, 1));
        if (at === null) break;
        for (const expr of NEAR_CHANGE_EXPRESSIONS) {
          // A day either side; four hours for the expressions with seconds.
          const span = expr.split(" ").length === 6 ? 4 * HOUR_MS : 26 * HOUR_MS;
          for (const dst of POLICIES) {
            const cron = parseCron(expr, { timezone: zone, dst });
            checkCount(cron, at - span, at + span, at);
            checkCount(cron, at - 1000, at + HOUR_MS, at);
            checkCount(cron, at - HOUR_MS, at, at);
          }
        }
        t = at + 1000;
      }
    });
  }
});

interface Case {
  readonly what: string;
  readonly expr: string;
  readonly zone: string;
  readonly after: string;
  readonly through: string;
  readonly count: number;
  readonly options?: Omit<CronOptions, "timezone">;
}

const CASES: readonly Case[] = [
  {
    what: "every minute of a year in a zone with daylight saving: one run per UTC minute",
    expr: "* * * * *",
    zone: "Europe/Berlin",
    after: "2024-01-01T00:00:00Z",
    through: "2025-01-01T00:00:00Z",
    count: 366 * 1440,
  },
  {
    what: "every minute with a 30-minute daylight-saving change",
    expr: "* * * * *",
    zone: "Australia/Lord_Howe",
    after: "2024-01-01T00:00:00Z",
    through: "2025-01-01T00:00:00Z",
    count: 366 * 1440,
  },
  {
    what: "every second of a week across a +12:45/+13:45 change",
    expr: "* * * * * *",
    zone: "Pacific/Chatham",
    after: "2024-04-04T00:00:00Z",
    through: "2024-04-11T00:00:00Z",
    count: 7 * 86_400,
  },
  {
    what: "a fixed time in the skipped hour runs once a day, shifted on the spring-forward day",
    expr: "30 2 * * *",
    zone: "America/New_York",
    after: "2024-01-01T05:00:00Z",
    through: "2025-01-01T05:00:00Z",
    count: 366,
  },
  {
    what: "the same with gap skip: not on the spring-forward day",
    expr: "30 2 * * *",
    zone: "America/New_York",
    after: "2024-01-01T05:00:00Z",
    through: "2025-01-01T05:00:00Z",
    count: 365,
    options: { dst: { gap: "skip" } },
  },
  {
    what: "a skipped time shifted to the instant of the change, which is a run itself, counts once",
    expr: "0,30 2-3 * * *",
    zone: "America/New_York",
    after: "2024-03-10T05:00:00Z",
    through: "2024-03-11T04:00:00Z",
    count: 2,
  },
  {
    what: "a fixed time in the repeated hour runs once (overlap first)",
    expr: "30 1 * * *",
    zone: "America/New_York",
    after: "2024-01-01T05:00:00Z",
    through: "2025-01-01T05:00:00Z",
    count: 366,
  },
  {
    what: "the same with overlap both: twice on the fall-back day",
    expr: "30 1 * * *",
    zone: "America/New_York",
    after: "2024-01-01T05:00:00Z",
    through: "2025-01-01T05:00:00Z",
    count: 367,
    options: { dst: { overlap: "both" } },
  },
  {
    what: "Pacific/Apia skipped 2011-12-30: no noon run that day (a change of clock, not daylight saving)",
    expr: "0 12 * * *",
    zone: "Pacific/Apia",
    after: "2011-12-01T10:00:00Z",
    through: "2011-12-31T09:59:59Z",
    count: 30,
  },
  {
    what: "Vixie OR: the 13th or a Friday, in 2024 (12 + 52 - 2 Friday the 13ths)",
    expr: "0 0 13 * 5",
    zone: "UTC",
    after: "2023-12-31T23:59:59Z",
    through: "2024-12-31T23:59:59Z",
    count: 62,
  },
  {
    what: "dayMatch and: Friday the 13th, in 2024",
    expr: "0 0 13 * 5",
    zone: "UTC",
    after: "2023-12-31T23:59:59Z",
    through: "2024-12-31T23:59:59Z",
    count: 2,
    options: { dayMatch: "and" },
  },
  {
    what: "the fifth Friday (5#5), in 2024: March, May, August, November",
    expr: "0 0 ? * 5#5",
    zone: "UTC",
    after: "2023-12-31T23:59:59Z",
    through: "2024-12-31T23:59:59Z",
    count: 4,
  },
  {
    what: "the last weekday (LW) and the day before the last (L-1), in 2024: the same day in August and November, which end on a Saturday",
    expr: "0 0 L-1,LW * ?",
    zone: "Europe/Berlin",
    after: "2023-12-31T00:00:00Z",
    through: "2024-12-31T00:00:00Z",
    count: 22,
  },
  {
    what: "29 February in the listed years only",
    expr: "0 0 0 29 2 ? 2024-2032",
    zone: "UTC",
    after: "2020-01-01T00:00:00Z",
    through: "2040-01-01T00:00:00Z",
    count: 3,
  },
  {
    what: "an empty interval",
    expr: "* * * * * *",
    zone: "UTC",
    after: "2024-01-01T00:00:00Z",
    through: "2024-01-01T00:00:00Z",
    count: 0,
  },
  {
    what: "a reversed interval",
    expr: "* * * * * *",
    zone: "UTC",
    after: "2024-01-01T00:00:10Z",
    through: "2024-01-01T00:00:00Z",
    count: 0,
  },
  {
    what: "a run at `through` counts, a run at `after` does not",
    expr: "0 * * * *",
    zone: "UTC",
    after: "2024-01-01T00:00:00Z",
    through: "2024-01-01T03:00:00Z",
    count: 3,
  },
  {
    what: "an expression that never fires",
    expr: "0 0 30 2 *",
    zone: "UTC",
    after: "2000-01-01T00:00:00Z",
    through: "2100-01-01T00:00:00Z",
    count: 0,
  },
];

void describe("countBetween: cases counted by hand", () => {
  for (const c of CASES) {
    void it(c.what, () => {
      const cron = parseCron(c.expr, { timezone: c.zone, ...c.options });
      const after = new Date(c.after);
      const through = new Date(c.through);
      assert.equal(cron.countBetween(after, through), c.count);
      const walked = walkNext(cron, after.getTime(), through.getTime());
      if (walked.complete) assert.equal(walked.runs.length, c.count, "walking next() agrees");
    });
  }

  void it("counts within a second: instants are whole seconds", () => {
    const cron = parseCron("* * * * * *", { timezone: "UTC" });
    const t = Date.parse("2024-01-01T00:00:00Z");
    assert.equal(cron.countBetweenMs(t - 1, t), 1);
    assert.equal(cron.countBetweenMs(t, t + 999), 0);
    assert.equal(cron.countBetweenMs(t + 1, t + 1000), 1);
    assert.equal(cron.countBetweenMs(t - 1, t + 999), 1);
  });

  void it("rejects what is not an instant", () => {
    const cron = parseCron("* * * * *", { timezone: "UTC" });
    assert.throws(() => cron.countBetween(new Date(Number.NaN), new Date(0)), /after/);
    assert.throws(() => cron.countBetweenMs(0, Number.POSITIVE_INFINITY), /throughMs/);
    assert.throws(() => cron.listBetweenMs(0, 1, -1), /limit/);
  });
});
