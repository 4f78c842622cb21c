import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { PlanView } from "../../src/core/plan-view.js";
import type { RecentRunView } from "../../src/http/timeline-api.js";
import { startHarness, type Harness } from "./helpers.js";

// The harness's clock starts at 2026-03-01T10:00:00Z. New York springs forward on
// 2026-03-08 at 02:00 EST (07:00Z).
describe("timeline API", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(async (scheduler) => {
      await scheduler.registerTask("nightly", "30 2 * * *", () => {}, {
        timezone: "America/New_York",
      });
      await scheduler.registerTask("poll", { every: "5m" }, () => {});
      await scheduler.registerTask("broken", "*/10 * * * *", () => {
        throw new Error("disk full");
      });
      await scheduler.registerTask("resting", "0 * * * *", () => {});
      await scheduler.pauseTask("resting");
    });
  });
  after(() => h.close());

  async function plan(query: string): Promise<PlanView> {
    const response = await h.bearer(`/api/plan?${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as PlanView;
  }

  it("plans the next 24 hours from now by default, in the scheduler's zone", async () => {
    const body = await plan("");
    assert.equal(body.from, "2026-03-01T10:00:00.000Z");
    assert.equal(body.to, "2026-03-02T10:00:00.000Z");
    assert.equal(body.timezone, "UTC");
    assert.equal(body.truncated, false);
    const counts = Object.fromEntries(
      body.tasks.map((t) => [t.name, [t.state, t.count, t.listed]]),
    );
    assert.deepEqual(counts, {
      nightly: ["active", 1, 1],
      poll: ["active", 288, 288],
      broken: ["active", 144, 144],
      resting: ["paused", 0, 0],
    });
    assert.equal(body.runs.length, 1 + 288 + 144);
    const times = body.runs.map((run) => run.at);
    assert.deepEqual(times, [...times].sort());
  });

  it("marks the run that daylight saving moves, with local times in tz", async () => {
    const body = await plan(
      "from=2026-03-07T00:00&to=2026-03-09T00:00&tz=America/New_York&perTask=5",
    );
    assert.equal(body.from, "2026-03-07T05:00:00.000Z");
    assert.equal(body.to, "2026-03-09T04:00:00.000Z");
    const nightly = body.runs.filter((run) => run.taskName === "nightly");
    assert.deepEqual(nightly, [
      {
        taskName: "nightly",
        at: "2026-03-07T07:30:00.000Z",
        local: "2026-03-07T02:30:00-05:00",
        dst: null,
      },
      {
        taskName: "nightly",
        at: "2026-03-08T07:00:00.000Z",
        local: "2026-03-08T03:00:00-04:00",
        dst: "shifted",
      },
    ]);
    assert.equal(body.truncated, true);
    assert.equal(body.runs.filter((run) => run.taskName === "poll").length, 5);
    const hours = await plan("from=2026-03-08T01:00Z&hours=3&tz=UTC");
    assert.equal(hours.to, "2026-03-08T04:00:00.000Z");
    assert.deepEqual(body.dstChanges, [
      {
        taskName: "nightly",
        timezone: "America/New_York",
        at: "2026-03-08T07:00:00.000Z",
        kind: "gap",
        effect: "shifted",
        matching: 1,
        localFrom: "2026-03-08T02:00:00",
        localTo: "2026-03-08T03:00:00",
        offsetBefore: "-05:00",
        offsetAfter: "-04:00",
        description:
          "2026-03-08 02:00–03:00 does not exist in America/New_York (clocks go forward): the run in it runs at 03:00 instead",
      },
    ]);
  });

  it("answers 400 naming the parameter and what is allowed", async () => {
    const cases: [string, RegExp][] = [
      ["from=yesterday", /^from must be an ISO 8601 instant/],
      ["to=2026-13-01", /^to must be an ISO 8601 instant/],
      ["tz=Mars/Olympus", /^tz must be an IANA time zone name/],
      ["from=2026-03-02T00:00Z&to=2026-03-01T00:00Z", /^to must be after from$/],
      ["to=2026-03-20T00:00Z", /at most 7 days/],
      ["limit=0", /^limit must be a whole number from 1 to 20000/],
      ["limit=10&perTask=11", /^perTask must be a whole number from 1 to 10/],
      ["hours=0", /^hours must be a whole number from 1 to 168/],
      ["to=2026-03-02T00:00Z&hours=3", /^give to or hours, not both$/],
    ];
    for (const [query, message] of cases) {
      const response = await h.bearer(`/api/plan?${query}`);
      assert.equal(response.status, 400, query);
      const body = (await response.json()) as { error: string; message: string };
      assert.match(body.message, message, query);
    }
    assert.equal((await h.bearer("/api/plan", { method: "POST" })).status, 405);
  });

  it("caps the plan of a task that runs every second", async () => {
    await h.scheduler.registerTask("flood", "* * * * * *", () => {});
    try {
      const body = await plan("limit=100&perTask=100");
      assert.equal(body.runs.length, 100);
      assert.equal(body.truncated, true);
      const flood = body.tasks.find((t) => t.name === "flood");
      assert.equal(flood?.count, 86_400);
      // The runs of other tasks at 10:00:00 come first (same instant, names before "flood").
      assert.equal(flood.listed, 100 - body.runs.filter((run) => run.taskName !== "flood").length);
      assert.ok(flood.listed > 90);
    } finally {
      await h.scheduler.unregisterTask("flood");
    }
  });

  it("lists recent runs oldest first with start, duration and status", async () => {
    await h.scheduler.advanceTo("2026-03-01T10:10:00Z");
    const response = await h.bearer("/api/timeline/recent");
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      since: string;
      runs: RecentRunView[];
      truncated: boolean;
    };
    assert.equal(body.since, "2026-02-28T10:10:00.000Z");
    assert.equal(body.truncated, false);
    assert.deepEqual(
      body.runs.map((run) => [run.taskName, run.scheduledAt.slice(11, 16), run.status]),
      [
        ["poll", "10:05", "succeeded"],
        ["broken", "10:10", "failed"],
        ["poll", "10:10", "succeeded"],
      ],
    );
    for (const run of body.runs) {
      assert.equal(typeof run.durationMs, "number");
      assert.equal(run.startedAt, run.scheduledAt);
    }
    const limited = (await (await h.bearer("/api/timeline/recent?limit=1")).json()) as {
      runs: RecentRunView[];
      truncated: boolean;
    };
    assert.equal(limited.runs.length, 1);
    assert.equal(limited.truncated, true);
    const later = (await (
      await h.bearer("/api/timeline/recent?since=2026-03-01T10:06:00Z")
    ).json()) as { runs: RecentRunView[] };
    assert.equal(later.runs.length, 2);
    const bad = await h.bearer("/api/timeline/recent?since=2025-01-01T00:00Z");
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { message: string }).message,
      /since must be at most 31 days ago/,
    );
  });
});
