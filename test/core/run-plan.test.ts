import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planRuns, type PlanTask } from "../../src/core/run-plan.js";
import { CronCache, IntervalSchedule, OnceSchedule } from "../../src/core/schedule.js";
import type { CronOptions } from "../../src/cron/index.js";

const cache = new CronCache();
const ms = (iso: string): number => Date.parse(iso);

function cronTask(
  name: string,
  expression: string,
  timezone: string,
  dst?: CronOptions["dst"],
): PlanTask {
  return { name, schedule: cache.get(expression, { timezone, ...(dst ? { dst } : {}) }) };
}

/** The plan's runs as "task@ISO[:mark]" strings. */
function listed(tasks: PlanTask[], from: string, to: string, limit = 1000): string[] {
  return planRuns(tasks, { fromMs: ms(from), toMs: ms(to), limit }).runs.map(
    (run) => `${run.taskName}@${new Date(run.atMs).toISOString()}${run.dst ? `:${run.dst}` : ""}`,
  );
}

// 2024: America/New_York springs forward Mar 10 02:00 EST -> 03:00 EDT (07:00Z) and falls back
// Nov 3 02:00 EDT -> 01:00 EST (06:00Z); Europe/Berlin Mar 31 02:00 -> 03:00 (01:00Z) and
// Oct 27 03:00 -> 02:00 (01:00Z).
describe("planRuns, daylight saving", () => {
  it("New York spring forward: a fixed-time run in the gap is shifted to 03:00 EDT", () => {
    const tasks = [cronTask("daily", "30 2 * * *", "America/New_York")];
    assert.deepEqual(listed(tasks, "2024-03-09T12:00:00Z", "2024-03-11T12:00:00Z"), [
      "daily@2024-03-10T07:00:00.000Z:shifted",
      "daily@2024-03-11T06:30:00.000Z",
    ]);
    const plan = planRuns(tasks, {
      fromMs: ms("2024-03-09T12:00:00Z"),
      toMs: ms("2024-03-11T12:00:00Z"),
      limit: 10,
    });
    assert.equal(plan.dstChanges.length, 1);
    const change = plan.dstChanges[0]!;
    assert.equal(change.kind, "gap");
    assert.equal(change.effect, "shifted");
    assert.equal(change.matching, 1);
    assert.equal(change.atMs, ms("2024-03-10T07:00:00Z"));
    assert.equal(new Date(change.localFromMs).toISOString(), "2024-03-10T02:00:00.000Z");
    assert.equal(new Date(change.localToMs).toISOString(), "2024-03-10T03:00:00.000Z");
    assert.equal(change.timezone, "America/New_York");
  });

  it("New York spring forward: wildcard runs in the gap are dropped and reported", () => {
    const tasks = [cronTask("half", "*/30 * * * *", "America/New_York")];
    assert.deepEqual(listed(tasks, "2024-03-10T06:00:00Z", "2024-03-10T08:00:00Z"), [
      "half@2024-03-10T06:00:00.000Z",
      "half@2024-03-10T06:30:00.000Z",
      "half@2024-03-10T07:00:00.000Z",
      "half@2024-03-10T07:30:00.000Z",
    ]);
    const plan = planRuns(tasks, {
      fromMs: ms("2024-03-10T06:00:00Z"),
      toMs: ms("2024-03-10T08:00:00Z"),
      limit: 10,
    });
    assert.deepEqual(
      plan.dstChanges.map((c) => [c.kind, c.effect, c.matching]),
      [["gap", "skipped", 2]],
    );
  });

  it("New York fall back: a fixed-time run in the repeated hour runs once, on the first pass", () => {
    const tasks = [cronTask("daily", "30 1 * * *", "America/New_York")];
    assert.deepEqual(listed(tasks, "2024-11-02T12:00:00Z", "2024-11-04T12:00:00Z"), [
      "daily@2024-11-03T05:30:00.000Z:first-pass",
      "daily@2024-11-04T06:30:00.000Z",
    ]);
    const plan = planRuns(tasks, {
      fromMs: ms("2024-11-02T12:00:00Z"),
      toMs: ms("2024-11-04T12:00:00Z"),
      limit: 10,
    });
    assert.deepEqual(
      plan.dstChanges.map((c) => [c.kind, c.effect, c.matching, new Date(c.atMs).toISOString()]),
      [["repeat", "once", 1, "2024-11-03T06:00:00.000Z"]],
    );
  });

  it("New York fall back: wildcard runs in the repeated hour run on both passes", () => {
    const tasks = [cronTask("half", "*/30 * * * *", "America/New_York")];
    assert.deepEqual(listed(tasks, "2024-11-03T04:30:00Z", "2024-11-03T07:30:00Z"), [
      "half@2024-11-03T04:30:00.000Z",
      "half@2024-11-03T05:00:00.000Z:first-pass",
      "half@2024-11-03T05:30:00.000Z:first-pass",
      "half@2024-11-03T06:00:00.000Z:second-pass",
      "half@2024-11-03T06:30:00.000Z:second-pass",
      "half@2024-11-03T07:00:00.000Z",
    ]);
  });

  it("Berlin spring forward and fall back, with the task's dst option", () => {
    const shifted = [cronTask("b", "30 2 * * *", "Europe/Berlin")];
    assert.deepEqual(listed(shifted, "2024-03-30T12:00:00Z", "2024-04-01T12:00:00Z"), [
      "b@2024-03-31T01:00:00.000Z:shifted",
      "b@2024-04-01T00:30:00.000Z",
    ]);
    const skipped = [cronTask("b", "30 2 * * *", "Europe/Berlin", { gap: "skip" })];
    assert.deepEqual(listed(skipped, "2024-03-30T12:00:00Z", "2024-04-01T12:00:00Z"), [
      "b@2024-04-01T00:30:00.000Z",
    ]);
    const once = [cronTask("b", "30 2 * * *", "Europe/Berlin")];
    assert.deepEqual(listed(once, "2024-10-26T12:00:00Z", "2024-10-28T12:00:00Z"), [
      "b@2024-10-27T00:30:00.000Z:first-pass",
      "b@2024-10-28T01:30:00.000Z",
    ]);
    const both = [cronTask("b", "30 2 * * *", "Europe/Berlin", { overlap: "both" })];
    assert.deepEqual(listed(both, "2024-10-26T12:00:00Z", "2024-10-28T12:00:00Z"), [
      "b@2024-10-27T00:30:00.000Z:first-pass",
      "b@2024-10-27T01:30:00.000Z:second-pass",
      "b@2024-10-28T01:30:00.000Z",
    ]);
  });

  it("reports no change for a task the change does not touch, and none in UTC", () => {
    const tasks = [
      cronTask("noon", "0 12 * * *", "America/New_York"),
      cronTask("utc", "*/30 * * * *", "UTC"),
    ];
    const plan = planRuns(tasks, {
      fromMs: ms("2024-03-09T12:00:00Z"),
      toMs: ms("2024-03-11T12:00:00Z"),
      limit: 1000,
    });
    assert.deepEqual(plan.dstChanges, []);
    assert.ok(plan.runs.every((run) => run.dst === null));
  });
});

describe("planRuns, merging and bounds", () => {
  it("lists the runs of every task in order of time, then name", () => {
    const tasks: PlanTask[] = [
      cronTask("zeta", "0 * * * *", "UTC"),
      cronTask("alpha", "0 */2 * * *", "UTC"),
      { name: "once", schedule: new OnceSchedule(ms("2024-01-01T01:30:00Z")) },
      { name: "tick", schedule: new IntervalSchedule(45 * 60_000, ms("2024-01-01T00:00:00Z")) },
    ];
    assert.deepEqual(listed(tasks, "2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z"), [
      "alpha@2024-01-01T00:00:00.000Z",
      "tick@2024-01-01T00:00:00.000Z",
      "zeta@2024-01-01T00:00:00.000Z",
      "tick@2024-01-01T00:45:00.000Z",
      "zeta@2024-01-01T01:00:00.000Z",
      "once@2024-01-01T01:30:00.000Z",
      "tick@2024-01-01T01:30:00.000Z",
      "alpha@2024-01-01T02:00:00.000Z",
      "zeta@2024-01-01T02:00:00.000Z",
      "tick@2024-01-01T02:15:00.000Z",
    ]);
  });

  it("caps the runs in all and per task, and says what it left out", () => {
    const tasks = [
      cronTask("every-second", "* * * * * *", "UTC"),
      cronTask("hourly", "0 * * * *", "UTC"),
    ];
    const window = { fromMs: ms("2024-01-01T00:00:00Z"), toMs: ms("2024-01-02T00:00:00Z") };
    const capped = planRuns(tasks, { ...window, limit: 100 });
    assert.equal(capped.runs.length, 100);
    assert.equal(capped.truncated, true);
    assert.deepEqual(
      capped.tasks.map((t) => [t.name, t.count, t.listed]),
      [
        ["every-second", 86_400, 99],
        ["hourly", 24, 1],
      ],
    );
    const fair = planRuns(tasks, { ...window, limit: 100, perTaskLimit: 10 });
    assert.deepEqual(
      fair.tasks.map((t) => [t.name, t.listed]),
      [
        ["every-second", 10],
        ["hourly", 10],
      ],
    );
    assert.equal(fair.truncated, true);
    const whole = planRuns([tasks[1]!], { ...window, limit: 100 });
    assert.equal(whole.truncated, false);
    assert.equal(whole.runs.length, 24);
  });

  it("keeps the earliest runs across many tasks while merging", () => {
    const tasks = Array.from({ length: 50 }, (_, i) =>
      cronTask(`t${String(i).padStart(2, "0")}`, `${i} * * * *`, "UTC"),
    );
    const plan = planRuns(tasks, {
      fromMs: ms("2024-01-01T00:00:00Z"),
      toMs: ms("2024-01-02T00:00:00Z"),
      limit: 60,
    });
    assert.equal(plan.runs.length, 60);
    assert.equal(plan.runs[0]!.taskName, "t00");
    assert.equal(new Date(plan.runs[59]!.atMs).toISOString(), "2024-01-01T01:09:00.000Z");
    for (let i = 1; i < plan.runs.length; i++)
      assert.ok(plan.runs[i - 1]!.atMs <= plan.runs[i]!.atMs);
  });

  it("honours state, startAt, endAt and the runs maxRuns leaves; the window's end is excluded", () => {
    const hourly = cache.get("0 * * * *", { timezone: "UTC" });
    const tasks: PlanTask[] = [
      { name: "paused", schedule: hourly, state: "paused" },
      { name: "late", schedule: hourly, startAtMs: ms("2024-01-01T02:00:00Z") },
      { name: "early", schedule: hourly, endAtMs: ms("2024-01-01T00:30:00Z") },
      { name: "two-left", schedule: hourly, runsLeft: 2 },
    ];
    const plan = planRuns(tasks, {
      fromMs: ms("2024-01-01T00:00:00Z"),
      toMs: ms("2024-01-01T03:00:00Z"),
      limit: 100,
    });
    assert.deepEqual(
      plan.runs.map((r) => `${r.taskName}@${new Date(r.atMs).toISOString().slice(11, 16)}`),
      ["early@00:00", "two-left@00:00", "two-left@01:00", "late@02:00"],
    );
    assert.deepEqual(
      plan.tasks.map((t) => [t.name, t.state, t.count]),
      [
        ["paused", "paused", 0],
        ["late", "active", 1],
        ["early", "active", 1],
        ["two-left", "active", 2],
      ],
    );
    assert.equal(plan.truncated, false);
  });

  it("refuses bad options, naming the option and what it takes", () => {
    const from = ms("2024-01-01T00:00:00Z");
    const cases: [object, RegExp][] = [
      [{ fromMs: Number.NaN, toMs: from, limit: 1 }, /`options\.fromMs` to be a finite number/],
      [{ fromMs: from, toMs: "tomorrow", limit: 1 }, /`options\.toMs` to be a finite number/],
      [
        { fromMs: from, toMs: from - 1, limit: 1 },
        /`options\.toMs` to be a number not below fromMs/,
      ],
      [{ fromMs: from, toMs: from, limit: 0 }, /`options\.limit` to be a whole number from 1 up/],
      [{ fromMs: from, toMs: from, limit: 5, perTaskLimit: 1.5 }, /`options\.perTaskLimit`/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => planRuns([], options as never), message);
    }
    assert.deepEqual(planRuns([], { fromMs: from, toMs: from, limit: 1 }).runs, []);
  });
});
