import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CronCache,
  IntervalSchedule,
  OnceSchedule,
  compileSchedule,
  scheduleFromSpec,
} from "../../src/core/schedule.js";
import { CronSyntaxError, InvalidArgumentError } from "../../src/errors.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const T0 = Date.parse("2026-01-01T00:00:00Z");

describe("schedules", () => {
  it("interval: fixed phase from the anchor, no drift", () => {
    const every = new IntervalSchedule(90_000, T0);
    assert.equal(iso(every.next(T0)), "2026-01-01T00:01:30.000Z");
    assert.equal(iso(every.next(T0 + 90_000)), "2026-01-01T00:03:00.000Z");
    assert.equal(iso(every.next(T0 + 91_000)), "2026-01-01T00:03:00.000Z");
    assert.equal(iso(every.prev(T0 + 180_000)), "2026-01-01T00:01:30.000Z");
    assert.equal(every.source, "every 90000ms");
  });

  it("once: a single occurrence", () => {
    const once = new OnceSchedule(T0);
    assert.equal(once.next(T0 - 1), T0);
    assert.equal(once.next(T0), null);
    assert.equal(once.prev(T0 + 1), T0);
  });

  it("counts and lists the occurrences in (after, through] as walking next() finds them", () => {
    const cache = new CronCache();
    const schedules = [
      new IntervalSchedule(90_000, T0),
      new IntervalSchedule(7_000, T0 + 3),
      new OnceSchedule(T0 + 60_000),
      cache.get("*/5 * * * *", { timezone: "Europe/Berlin" }),
    ];
    const bounds = [-1, 0, 1, 3, 59_999, 60_000, 90_000, 3_600_000, 86_400_000];
    for (const schedule of schedules) {
      for (const a of bounds) {
        for (const b of bounds) {
          const walked: number[] = [];
          for (let t = schedule.next(T0 + a); t !== null && t <= T0 + b; t = schedule.next(t)) {
            walked.push(t);
          }
          const label = `${schedule.source} over (${a}, ${b}]`;
          assert.equal(schedule.countBetween(T0 + a, T0 + b), walked.length, label);
          assert.deepEqual(schedule.listBetween(T0 + a, T0 + b, 5), walked.slice(0, 5), label);
        }
      }
    }
  });

  it("compiles strings, Dates and { every } and rejects anything else", () => {
    const cache = new CronCache();
    const context = { nowMs: T0, timezone: "UTC", cache };
    assert.equal(compileSchedule("*/5 * * * *", context).kind, "cron");
    assert.equal(compileSchedule(new Date(T0 + 1), context).kind, "once");
    const every = compileSchedule({ every: "5m" }, context);
    assert.equal(every.kind, "interval");
    assert.equal(iso(every.next(T0)), "2026-01-01T00:05:00.000Z");
    assert.throws(() => compileSchedule("*/61 * * * *", context), CronSyntaxError);
    assert.throws(() => compileSchedule({ every: 0 }, context), /schedule\.every/);
    // Beyond 366 days an interval's instants leave Date's range sooner or later.
    assert.throws(
      () => compileSchedule({ every: Number.MAX_SAFE_INTEGER }, context),
      /`schedule\.every` to be a whole number of milliseconds from 1 ms to 31622400000 ms \(366 days\)/,
    );
    assert.equal(compileSchedule({ every: "366d" }, context).kind, "interval");
    for (const bad of [42, null, {}, [], "", new Date(Number.NaN)]) {
      assert.throws(() => compileSchedule(bad, context), InvalidArgumentError);
    }
  });

  it("shares one compiled cron per expression, zone and options", () => {
    const cache = new CronCache();
    const a = cache.get("0 8 * * *", { timezone: "Europe/Paris" });
    assert.equal(cache.get("0 8 * * *", { timezone: "Europe/Paris" }), a);
    assert.notEqual(cache.get("0 8 * * *", { timezone: "UTC" }), a);
    assert.notEqual(cache.get("0 8 * * *", { timezone: "Europe/Paris", dayMatch: "and" }), a);
    assert.equal(cache.size, 3);
    assert.equal(iso(a.next(T0)), "2026-01-01T07:00:00.000Z");
    assert.equal(scheduleFromSpec(a.toSpec(), cache), a);
    const every = new IntervalSchedule(1000, 5);
    assert.deepEqual(scheduleFromSpec(every.toSpec(), cache).toSpec(), every.toSpec());
  });
});
