import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  HealthTracker,
  STUCK_SKIPS,
  StuckWatch,
  healthChange,
  type SetTimer,
  type StuckReport,
} from "../../../src/cli/notify/notify-state.js";

describe("the notification state machine", () => {
  it("sends failure once when an ok task fails, recovery once when it succeeds again", () => {
    const tracker = new HealthTracker();
    const outcomes = [
      "succeeded",
      "failed",
      "failed",
      "timed-out",
      "succeeded",
      "succeeded",
    ] as const;
    assert.deepEqual(
      outcomes.map((status) => tracker.finished("backup", status)),
      [undefined, "failure", undefined, undefined, "recovery", undefined],
    );
  });

  it("counts a task with no past as ok, and ignores statuses that say nothing of its health", () => {
    const tracker = new HealthTracker();
    assert.equal(tracker.finished("a", "skipped"), undefined);
    assert.equal(tracker.finished("a", "lost"), undefined);
    assert.equal(tracker.healthOf("a"), undefined);
    assert.equal(tracker.finished("a", "interrupted"), "failure");
    assert.equal(tracker.finished("b", "succeeded"), undefined);
  });

  it("takes the previous state from the caller (the store's history) over what it saw", () => {
    const tracker = new HealthTracker();
    tracker.finished("a", "succeeded");
    // Another node ran it last, and it failed: this success is a recovery.
    assert.equal(tracker.finished("a", "succeeded", "failing"), "recovery");
    // Another node already reported the failure: this one is not a new change.
    assert.equal(tracker.finished("a", "failed", "failing"), undefined);
    assert.equal(healthChange(undefined, "failing"), "failure");
    assert.equal(healthChange("ok", "ok"), undefined);
  });

  it("keeps tasks apart, and forgets a removed one", () => {
    const tracker = new HealthTracker();
    assert.equal(tracker.finished("a", "failed"), "failure");
    assert.equal(tracker.finished("b", "failed"), "failure");
    tracker.forget("a");
    assert.equal(tracker.finished("a", "succeeded"), undefined);
    assert.equal(tracker.finished("b", "succeeded"), "recovery");
  });
});

/** Timers fired by hand: a fake clock for StuckWatch. */
function fakeTimers(): {
  setTimer: SetTimer;
  advance: (ms: number) => void;
  pending: () => number;
} {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    setTimer: (fn, ms) => {
      const timer = { at: now + ms, fn };
      timers.add(timer);
      return { clear: () => timers.delete(timer) };
    },
    advance(ms) {
      now += ms;
      for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > now) continue;
        timers.delete(timer);
        timer.fn();
      }
    },
    pending: () => timers.size,
  };
}

describe("StuckWatch", () => {
  const at = new Date("2030-06-01T12:00:00Z");

  it("reports a run still going after stuckAfterMs, once, and not one that finished in time", () => {
    const timers = fakeTimers();
    const reports: StuckReport[] = [];
    const watch = new StuckWatch((report) => reports.push(report), timers.setTimer);
    watch.started("slow", at, 60_000);
    watch.started("quick", at, 60_000);
    timers.advance(59_999);
    watch.finished("quick", at);
    assert.deepEqual(reports, []);
    timers.advance(1);
    assert.deepEqual(reports, [
      { taskName: "slow", scheduledAt: at, reason: "running", amount: 60_000 },
    ]);
    timers.advance(10 * 60_000);
    assert.equal(reports.length, 1);
    assert.equal(timers.pending(), 0);
  });

  it(`reports ${STUCK_SKIPS} overlap skips in a row once, keyed on the first; a start resets the streak`, () => {
    const timers = fakeTimers();
    const reports: StuckReport[] = [];
    const watch = new StuckWatch((report) => reports.push(report), timers.setTimer);
    const second = (n: number) => new Date(at.getTime() + n * 1000);
    watch.skipped("busy", second(1));
    watch.skipped("busy", second(2));
    watch.started("busy", second(3), undefined);
    watch.skipped("busy", second(4));
    watch.skipped("busy", second(5));
    assert.deepEqual(reports, []);
    watch.skipped("busy", second(6));
    watch.skipped("busy", second(7));
    assert.deepEqual(reports, [
      { taskName: "busy", scheduledAt: second(4), reason: "skipped", amount: 3 },
    ]);
  });

  it("clears its timers when stopped", () => {
    const timers = fakeTimers();
    const watch = new StuckWatch(() => assert.fail("reported after stop"), timers.setTimer);
    watch.started("slow", at, 1000);
    watch.stop();
    timers.advance(5000);
    assert.equal(timers.pending(), 0);
  });
});
