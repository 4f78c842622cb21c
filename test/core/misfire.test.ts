import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MISFIRE_WALK_LIMIT, planDueRuns, type MisfireInput } from "../../src/core/misfire.js";
import { IntervalSchedule } from "../../src/core/schedule.js";

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
    next: (ms) => everyMinute.next(ms),
    prev: (ms) => everyMinute.prev(ms),
    ...overrides,
  };
}

describe("planDueRuns", () => {
  it("runs one occurrence due within the grace period, whatever the policy", () => {
    for (const policy of ["run-once", "skip", "run-all"] as const) {
      const plan = planDueRuns(input({ policy, nowMs: 10 * MIN + 999 }));
      assert.deepEqual(plan, {
        run: [10 * MIN],
        missed: [],
        missedCount: 0,
        missedIsLowerBound: false,
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

  it("jumps over a huge backlog with prev/next instead of walking it", () => {
    let calls = 0;
    const nowMs = 10 * MIN + 365 * 24 * 60 * MIN;
    const plan = planDueRuns(
      input({
        nowMs,
        next: (ms) => {
          calls++;
          return everyMinute.next(ms);
        },
      }),
    );
    assert.deepEqual(plan.run, [nowMs]);
    assert.equal(plan.nextMs, nowMs + MIN);
    assert.ok(plan.missedIsLowerBound);
    assert.ok(plan.missedCount >= MISFIRE_WALK_LIMIT - 1);
    assert.ok(plan.missed.length <= 100);
    assert.ok(calls <= MISFIRE_WALK_LIMIT + 2);
  });

  it("never plans past endMs", () => {
    const plan = planDueRuns(input({ nowMs: 15 * MIN, endMs: 12 * MIN }));
    assert.deepEqual(plan.run, [12 * MIN]);
    assert.equal(plan.nextMs, null);
  });
});
