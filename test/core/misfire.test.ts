import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  MISSED_LIST_LIMIT,
  planDueRuns,
  type MisfireInput,
  type MisfirePlan,
  type MisfirePolicy,
  type Occurrences,
} from "../../src/core/misfire.js";
import { CronCache, IntervalSchedule, OnceSchedule } from "../../src/core/schedule.js";

const MIN = 60_000;
const everyMinute = new IntervalSchedule(MIN, 0);

function input(overrides: Partial<MisfireInput>): MisfireInput {
  return {
    firstDueMs: 10 * MIN,
    nowMs: 10 * MIN,
    policy: "run-once",
    graceMs: 1_000,
    maxCatchUpRuns: 100,
    endMs: Number.POSITIVE_INFINITY,
    schedule: everyMinute,
    ...overrides,
  };
}

/** The schedule with a count of each question asked, and of the occurrences listed. */
function counted(of: Occurrences): {
  schedule: Occurrences;
  calls: { next: number; prev: number; countBetween: number; listBetween: number; listed: number };
} {
  const calls = { next: 0, prev: 0, countBetween: 0, listBetween: 0, listed: 0 };
  const schedule: Occurrences = {
    next: (ms) => (calls.next++, of.next(ms)),
    prev: (ms) => (calls.prev++, of.prev(ms)),
    countBetween: (a, b) => (calls.countBetween++, of.countBetween(a, b)),
    listBetween: (a, b, limit) => {
      calls.listBetween++;
      const list = of.listBetween(a, b, limit);
      calls.listed += list.length;
      return list;
    },
  };
  return { schedule, calls };
}

describe("planDueRuns", () => {
  it("runs one occurrence due within the grace period, whatever the policy", () => {
    for (const policy of ["run-once", "skip", "run-all"] as const) {
      const plan = planDueRuns(input({ policy, nowMs: 10 * MIN + 999 }));
      assert.deepEqual(plan, {
        run: [10 * MIN],
        missed: [],
        missedCount: 0,
        missedThroughMs: Number.NaN,
        nextMs: 11 * MIN,
      });
    }
  });

  it("run-once runs the latest missed occurrence and reports the others", () => {
    const plan = planDueRuns(input({ nowMs: 15 * MIN + 30_000 }));
    assert.deepEqual(plan.run, [15 * MIN]);
    assert.deepEqual(plan.missed, [10 * MIN, 11 * MIN, 12 * MIN, 13 * MIN, 14 * MIN]);
    assert.equal(plan.missedCount, 5);
    assert.equal(plan.missedThroughMs, 14 * MIN, "the missed range ends before the run");
    assert.equal(plan.nextMs, 16 * MIN);
  });

  it("skip runs nothing late, but still runs the latest occurrence when it is within grace", () => {
    const late = planDueRuns(input({ policy: "skip", nowMs: 15 * MIN + 30_000 }));
    assert.deepEqual(late.run, []);
    assert.equal(late.missedCount, 6);
    assert.equal(late.missedThroughMs, 15 * MIN, "nothing runs: the range ends at the latest");
    const onTime = planDueRuns(input({ policy: "skip", nowMs: 15 * MIN + 500 }));
    assert.deepEqual(onTime.run, [15 * MIN]);
    assert.equal(onTime.missedCount, 5);
  });

  it("run-all runs every missed occurrence oldest first, bounded by maxCatchUpRuns (the latest ones)", () => {
    const all = planDueRuns(input({ policy: "run-all", nowMs: 13 * MIN + 5 }));
    assert.deepEqual(all.run, [10 * MIN, 11 * MIN, 12 * MIN, 13 * MIN]);
    assert.equal(all.missedCount, 0);
    const bounded = planDueRuns(
      input({ policy: "run-all", maxCatchUpRuns: 2, nowMs: 13 * MIN + 5 }),
    );
    assert.deepEqual(bounded.run, [12 * MIN, 13 * MIN]);
    assert.deepEqual(bounded.missed, [10 * MIN, 11 * MIN]);
  });

  it("counts a year of backlog exactly, asking the schedule a bounded number of questions", () => {
    const YEAR = 365 * 24 * 60 * MIN;
    const latestMs = 10 * MIN + YEAR;
    const nowMs = latestMs + 30_000;
    for (const policy of ["run-once", "skip", "run-all"] as const) {
      const { schedule, calls } = counted(everyMinute);
      const plan = planDueRuns(input({ policy, nowMs, maxCatchUpRuns: 3, schedule }));
      const runs = policy === "skip" ? 0 : policy === "run-once" ? 1 : 3;
      assert.equal(plan.run.length, runs, policy);
      assert.equal(plan.missedCount, 365 * 24 * 60 + 1 - runs, `${policy}: every missed minute`);
      assert.equal(plan.missed.length, MISSED_LIST_LIMIT);
      assert.deepEqual(plan.missed.slice(0, 2), [10 * MIN, 11 * MIN]);
      assert.equal(plan.missedThroughMs, latestMs - runs * MIN);
      assert.equal(plan.nextMs, latestMs + MIN);
      assert.deepEqual(calls, {
        next: 1,
        prev: 1 + Math.max(0, runs - 1) + (runs > 0 ? 1 : 0),
        countBetween: 1,
        listBetween: 1,
        listed: MISSED_LIST_LIMIT - 1,
      });
    }
  });

  it("never plans past endMs", () => {
    const plan = planDueRuns(input({ nowMs: 15 * MIN, endMs: 12 * MIN }));
    assert.deepEqual(plan.run, [12 * MIN]);
    assert.equal(plan.nextMs, null);
  });
});

/** The plan as it was defined before counting: every due occurrence walked with next(). */
function walkedPlan(input: MisfireInput): MisfirePlan {
  const { schedule, nowMs, endMs, graceMs } = input;
  const within = (ms: number | null) => (ms !== null && ms <= endMs ? ms : null);
  const due: number[] = [];
  let cursor = within(input.firstDueMs);
  for (; cursor !== null && cursor <= nowMs; cursor = within(schedule.next(cursor)))
    due.push(cursor);
  const latest = due[due.length - 1];
  if (latest === undefined) {
    return { run: [], missed: [], missedCount: 0, missedThroughMs: Number.NaN, nextMs: cursor };
  }
  let run: number[];
  if (due.length === 1 && nowMs - latest <= graceMs) run = [latest];
  else if (input.policy === "skip") run = nowMs - latest <= graceMs ? [latest] : [];
  else if (input.policy === "run-once") run = [latest];
  else run = due.slice(-Math.max(1, input.maxCatchUpRuns));
  const missed = due.slice(0, due.length - run.length);
  return {
    run,
    missed: missed.slice(0, MISSED_LIST_LIMIT),
    missedCount: missed.length,
    missedThroughMs: missed[missed.length - 1] ?? Number.NaN,
    nextMs: cursor,
  };
}

describe("planDueRuns: the same plan as walking every due occurrence", () => {
  const cache = new CronCache();
  const cron = (expression: string, timezone: string) => cache.get(expression, { timezone });
  const SCHEDULES: readonly Occurrences[] = [
    everyMinute,
    new IntervalSchedule(1_000, 123),
    new IntervalSchedule(7 * MIN, 5_000),
    new OnceSchedule(Date.parse("2024-03-10T07:00:00Z")),
    cron("* * * * *", "Europe/Berlin"),
    cron("*/5 * * * * *", "America/New_York"),
    cron("30 2 * * *", "America/New_York"),
    cron("0,30 1-3 * * *", "Australia/Lord_Howe"),
    cron("*/15 * * * *", "Pacific/Chatham"),
    cron("0 12 * * *", "Pacific/Apia"),
    cron("0 0 L * *", "UTC"),
  ];
  /** Starts near offset changes: New York's of 2024, Lord Howe's, Chatham's, Apia's skipped day. */
  const STARTS = [
    "2024-03-09T12:00:00Z",
    "2024-11-02T12:00:00Z",
    "2024-04-06T12:00:00Z",
    "2024-10-05T12:00:00Z",
    "2011-12-28T12:00:00Z",
  ].map(Date.parse);

  it("for random schedules, gaps, policies, grace periods, bounds and ends", () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...SCHEDULES),
        fc.constantFrom(...STARTS),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.oneof(
          fc.integer({ min: 0, max: 3_600_000 }),
          fc.integer({ min: 0, max: 3 * 86_400_000 }),
          fc.integer({ min: 0, max: 40 * 86_400_000 }),
        ),
        fc.constantFrom<MisfirePolicy>("run-once", "skip", "run-all"),
        fc.integer({ min: 0, max: 2 * 3_600_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.option(fc.integer({ min: 0, max: 40 * 86_400_000 }), { nil: undefined }),
        (schedule, start, offset, gap, policy, graceMs, maxCatchUpRuns, endAfter) => {
          const firstDueMs = schedule.next(start + offset);
          if (firstDueMs === null) return;
          const nowMs = firstDueMs + gap;
          const endMs = endAfter === undefined ? Number.POSITIVE_INFINITY : firstDueMs + endAfter;
          // Keep the reference's walk short.
          if (schedule.countBetween(firstDueMs, Math.min(nowMs, endMs)) > 20_000) return;
          checked++;
          const plan = { firstDueMs, nowMs, policy, graceMs, maxCatchUpRuns, endMs, schedule };
          assert.deepStrictEqual(planDueRuns(plan), walkedPlan(plan));
        },
      ),
      { seed: 20_250_115, numRuns: 500, includeErrorInReport: true },
    );
    assert.ok(checked > 300, `only ${checked} plans checked`);
  });
});
