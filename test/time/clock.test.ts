import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import { ManualClock, SystemClock } from "../../src/time/clock.js";
import { parseDuration, toMs } from "../../src/time/duration.js";

describe("ManualClock", () => {
  it("starts at 2000-01-01Z by default and at a given instant otherwise", () => {
    assert.equal(new ManualClock().now().toISOString(), "2000-01-01T00:00:00.000Z");
    assert.equal(
      new ManualClock("2026-03-08T06:59:00Z").nowMs(),
      Date.parse("2026-03-08T06:59:00Z"),
    );
    assert.equal(new ManualClock(new Date(5)).nowMs(), 5);
  });

  it("advances by milliseconds or duration text", () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    clock.advance(1500);
    clock.advance("1h");
    clock.advance("90s");
    clock.advance("1h30m");
    assert.equal(clock.now().toISOString(), "2026-01-01T02:31:31.500Z");
    assert.equal(clock.monotonicMs(), 1500 + 3_600_000 + 90_000 + 5_400_000);
  });

  it("set moves the wall clock; backwards or jump() moves it without the monotonic reading", () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    clock.set("2026-01-01T00:10:00Z");
    assert.equal(clock.monotonicMs(), 600_000);
    clock.set(new Date("2026-01-01T00:05:00Z"));
    assert.equal(clock.monotonicMs(), 600_000);
    clock.jump(3_600_000);
    assert.equal(clock.now().toISOString(), "2026-01-01T01:05:00.000Z");
    assert.equal(clock.monotonicMs(), 600_000);
  });

  it("notifies listeners on every change until unsubscribed", () => {
    const clock = new ManualClock();
    let calls = 0;
    const off = clock.onChange(() => calls++);
    clock.advance(1);
    clock.set(10);
    clock.jump(-1);
    off();
    clock.advance(1);
    assert.equal(calls, 3);
  });

  it("rejects bad input with InvalidArgumentError", () => {
    const clock = new ManualClock();
    assert.throws(() => clock.advance(-1), InvalidArgumentError);
    assert.throws(() => clock.advance("soon"), /Expected `by`/);
    assert.throws(() => clock.set("not a date"), InvalidArgumentError);
    assert.throws(() => new ManualClock(Number.NaN), InvalidArgumentError);
  });
});

describe("SystemClock", () => {
  it("reads the real time and a monotonic counter that never goes back", () => {
    const clock = new SystemClock();
    const before = Date.now();
    const now = clock.nowMs();
    assert.ok(now >= before);
    assert.ok(clock.now() instanceof Date);
    const a = clock.monotonicMs();
    const b = clock.monotonicMs();
    assert.ok(b >= a);
  });
});

describe("durations", () => {
  it("parses numbers and text", () => {
    assert.equal(toMs(0), 0);
    assert.equal(toMs("250ms"), 250);
    assert.equal(toMs("5m"), 300_000);
    assert.equal(toMs("1h30m"), 5_400_000);
    assert.equal(toMs("2d"), 172_800_000);
    assert.equal(toMs("1w"), 604_800_000);
    assert.equal(toMs("1.5s"), 1500);
    assert.equal(toMs("12"), 12);
    for (const bad of [-1, 1.5, "5 minutes", "", "m", null, {}]) assert.equal(toMs(bad), undefined);
  });

  it("names the argument in errors, and refuses 0 when positive", () => {
    assert.throws(
      () => parseDuration("options.timeoutMs", "x"),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.argument, "options.timeoutMs");
        assert.match(error.message, /got "x" \(string\)/);
        return true;
      },
    );
    assert.throws(() => parseDuration("every", 0, { positive: true }), /positive/);
  });
});
