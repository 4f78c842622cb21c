import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { Dispatcher, ManualClock, Scheduler } from "../../src/index.js";
import type { RunStartEvent } from "../../src/events.js";
import { PLAN_AHEAD } from "../helpers/plan-ahead.js";

describe("jitter", () => {
  it("delays runs by up to jitterMs without making them late (no catch-up, nothing missed)", async () => {
    // The largest jitter every time: 5 s after each occurrence, beyond the 1 s grace.
    const random = mock.method(Math, "random", () => 0.9999);
    try {
      const clock = new ManualClock("2026-01-01T00:00:30Z");
      const scheduler = new Scheduler(new Dispatcher(), {
        clock,
        timezone: "UTC",
        planAhead: PLAN_AHEAD,
      });
      const starts: RunStartEvent[] = [];
      let missed = 0;
      scheduler.on("run:start", (event) => starts.push(event));
      scheduler.on("run:missed", (event) => (missed += event.count));
      await scheduler.registerTask("jittery", "* * * * *", () => {}, {
        jitterMs: 5_000,
        misfireGraceMs: 1_000,
      });
      await scheduler.advanceTo("2026-01-01T00:05:30Z");
      assert.equal(starts.length, 5);
      assert.deepEqual(
        starts.map((s) => [s.scheduledAt.toISOString(), s.startedAt.toISOString(), s.trigger]),
        [1, 2, 3, 4, 5].map((m) => [
          `2026-01-01T00:0${m}:00.000Z`,
          `2026-01-01T00:0${m}:05.000Z`,
          "schedule",
        ]),
      );
      assert.equal(missed, 0);
    } finally {
      random.mock.restore();
    }
  });
});
