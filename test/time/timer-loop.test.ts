import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { ManualClock, SystemClock, type Clock } from "../../src/time/clock.js";
import {
  FINAL_APPROACH_MS,
  MAX_TIMEOUT_MS,
  TimerLoop,
  type ClockJump,
  type TimerFunctions,
} from "../../src/time/timer-loop.js";
import { nextEvent } from "../helpers/events.js";

/** The real clock with a wall-clock offset a test can change (an NTP step, a resume from sleep). */
class SteppedClock implements Clock {
  readonly #real = new SystemClock();
  offsetMs = 0;
  now(): Date {
    return new Date(this.nowMs());
  }
  nowMs(): number {
    return this.#real.nowMs() + this.offsetMs;
  }
  monotonicMs(): number {
    return this.#real.monotonicMs();
  }
}

function loopWithEvents(
  clock: Clock,
  dueMs: () => number | null,
  extra: { unref?: boolean; timers?: TimerFunctions } = {},
) {
  const events = new EventEmitter();
  const loop = new TimerLoop({
    clock,
    nextDueMs: dueMs,
    onDue: () => events.emit("due", clock.nowMs()),
    onJump: (jump) => events.emit("jump", jump),
    onArm: (delayMs, due) => events.emit("arm", { delayMs, due }),
    ...extra,
  });
  return { loop, events };
}

/**
 * Virtual time: a clock and timers where running the next pending timer
 * moves the clock by exactly that timer's delay.
 */
function virtualTime(startMs: number, immediateMs?: number) {
  let wallMs = startMs;
  const clock: Clock = {
    now: () => new Date(wallMs),
    nowMs: () => wallMs,
    monotonicMs: () => wallMs,
  };
  const pending: { callback: () => void; delayMs: number; immediate: boolean }[] = [];
  const remove = (handle: unknown): void => {
    const index = pending.indexOf(handle as (typeof pending)[number]);
    if (index >= 0) pending.splice(index, 1);
  };
  const timers: TimerFunctions = {
    setTimeout: (callback, delayMs) => {
      const handle = { callback, delayMs, immediate: false };
      pending.push(handle);
      return handle;
    },
    clearTimeout: remove,
    // With immediateMs, a turn of the event loop takes that long.
    ...(immediateMs === undefined
      ? {}
      : {
          setImmediate: (callback: () => void) => {
            const handle = { callback, delayMs: immediateMs, immediate: true };
            pending.push(handle);
            return handle;
          },
          clearImmediate: remove,
        }),
  };
  /** How many immediates ran. */
  let immediates = 0;
  /** Runs pending timers one by one (at most `limit`); returns their delays. */
  const run = (limit: number, beforeEach: () => void = () => {}): number[] => {
    const delays: number[] = [];
    for (let guard = 0; guard < limit && pending.length > 0; guard++) {
      const timer = pending.shift() as (typeof pending)[number];
      beforeEach();
      if (timer.immediate) immediates++;
      else delays.push(timer.delayMs);
      wallMs += timer.delayMs;
      timer.callback();
    }
    return delays;
  };
  return { clock, timers, run, immediates: () => immediates };
}

describe("TimerLoop", () => {
  it("fires once the wall clock reaches the due instant, never before", async () => {
    const clock = new SystemClock();
    let due: number | null = clock.nowMs() + 30;
    const { loop, events } = loopWithEvents(clock, () => due);
    const fired = nextEvent<number>(events, "due");
    loop.start();
    const at = await fired;
    assert.ok(at >= due, "fired early");
    due = null;
    loop.stop();
    assert.equal(loop.armed, false);
  });

  it("splits a delay longer than 2^31-1 ms into slices and does not fire early", async () => {
    const clock = new SystemClock();
    const dueMs = clock.nowMs() + 40 * 24 * 3_600_000;
    const { loop, events } = loopWithEvents(clock, () => dueMs);
    let fired = false;
    events.on("due", () => (fired = true));
    const armed = nextEvent<{ delayMs: number }>(events, "arm");
    loop.start();
    const { delayMs } = await armed;
    assert.ok(delayMs <= MAX_TIMEOUT_MS);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fired, false);
    loop.stop();
  });

  it("with maxSleepMs at the platform limit, walks a 60-day wait in slices of at most 2^31-1 ms", () => {
    // Virtual timers: each slice "elapses" by moving the clock by the requested delay.
    const { clock, timers, run } = virtualTime(Date.parse("2026-01-01T00:00:00Z"));
    const dueMs = clock.nowMs() + 60 * 24 * 3_600_000;
    let firedAt: number | null = null;
    const loop = new TimerLoop({
      clock,
      nextDueMs: () => (firedAt === null ? dueMs : null),
      onDue: () => (firedAt = clock.nowMs()),
      maxSleepMs: Number.MAX_SAFE_INTEGER,
      timers,
    });
    loop.start();
    const delays = run(10, () => assert.equal(firedAt, null));
    loop.stop();
    assert.equal(firedAt, dueMs);
    assert.ok(delays.length >= 3);
    assert.ok(delays.every((delay) => delay <= MAX_TIMEOUT_MS));
  });

  it("detects a wall-clock jump during a sleep and fires at once", async () => {
    const clock = new SteppedClock();
    const dueMs = clock.nowMs() + 3_600_000;
    const events = new EventEmitter();
    const jumped = nextEvent<ClockJump>(events, "jump");
    const fired = nextEvent<number>(events, "due");
    // Sleep slices of 20 ms so the jump is noticed on the next wake.
    const sliced = new TimerLoop({
      clock,
      nextDueMs: () => dueMs,
      onDue: () => events.emit("due", clock.nowMs()),
      onJump: (jump) => events.emit("jump", jump),
      maxSleepMs: 20,
    });
    sliced.start();
    clock.offsetMs = 2 * 3_600_000;
    const jump = await jumped;
    assert.ok(jump.driftMs >= 3_600_000, `drift ${jump.driftMs}`);
    await fired;
    sliced.stop();
  });

  it("re-arms when a manual clock moves, and when something earlier is poked", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    let due = clock.nowMs() + 3_600_000;
    const { loop, events } = loopWithEvents(clock, () => due);
    loop.start();
    const fired = nextEvent<number>(events, "due");
    clock.advance("1h");
    assert.equal(await fired, due);
    due = clock.nowMs() + 3_600_000;
    loop.poke();
    const armed = nextEvent<{ due: number }>(events, "arm");
    due = clock.nowMs() + 1_000;
    loop.poke(due);
    assert.equal((await armed).due, due);
    loop.stop();
  });

  it("unrefs its timer when asked, and start/stop are idempotent", () => {
    const calls: string[] = [];
    const timers: TimerFunctions = {
      setTimeout: () => ({ unref: () => calls.push("unref") }),
      clearTimeout: () => calls.push("clear"),
    };
    const clock = new ManualClock();
    const loop = new TimerLoop({
      clock,
      nextDueMs: () => clock.nowMs() + 1000,
      onDue: () => {},
      unref: true,
      timers,
    });
    loop.start();
    loop.start();
    assert.ok(loop.running && loop.armed);
    assert.deepEqual(calls, ["unref"]);
    loop.stop();
    loop.stop();
    assert.deepEqual(calls, ["unref", "clear"]);
    assert.ok(!loop.running && !loop.armed);
  });
  it("with a lead, calls onSoon that long before the instant, then onDue at it", () => {
    const { clock, timers, run } = virtualTime(Date.parse("2026-01-01T00:00:00Z"));
    const dueMs = clock.nowMs() + 1_000;
    let prepared = false;
    let done = false;
    const calls: string[] = [];
    const loop = new TimerLoop({
      clock,
      nextDueMs: () => (done ? null : dueMs),
      planLeadMs: () => (prepared ? 0 : 40),
      onSoon: (at) => {
        prepared = true;
        calls.push(`soon@${clock.nowMs() - at}`);
      },
      onDue: () => {
        calls.push(`due@${clock.nowMs() - dueMs}`);
        done = true;
      },
      timers,
    });
    loop.start();
    const delays = run(10);
    loop.stop();
    assert.deepEqual(delays, [960, 40]);
    assert.deepEqual(calls, ["soon@-40", "due@0"]);
  });

  it("approaches a prepared instant turn by turn, firing within one turn of it", () => {
    const { clock, timers, run, immediates } = virtualTime(
      Date.parse("2026-01-01T00:00:00Z"),
      0.25,
    );
    const dueMs = clock.nowMs() + 1_000;
    let prepared = false;
    let firedAt: number | null = null;
    const loop = new TimerLoop({
      clock,
      nextDueMs: () => (firedAt === null ? dueMs : null),
      planLeadMs: () => (prepared ? 0 : 40),
      onSoon: () => (prepared = true),
      onDue: () => (firedAt = clock.nowMs()),
      timers,
    });
    loop.start();
    const delays = run(100);
    loop.stop();
    // Asleep until the lead, then until FINAL_APPROACH_MS before the instant, then turn by turn.
    assert.deepEqual(delays, [960, 40 - FINAL_APPROACH_MS]);
    assert.equal(immediates(), FINAL_APPROACH_MS / 0.25);
    assert.equal(firedAt, dueMs);
  });

  it("re-arms earlier when a poke at the armed instant lengthens its lead", () => {
    const { clock, timers, run } = virtualTime(Date.parse("2026-01-01T00:00:00Z"));
    const dueMs = clock.nowMs() + 1_000;
    let dueThen = 1;
    let soonAt: number | null = null;
    const loop = new TimerLoop({
      clock,
      nextDueMs: () => dueMs,
      // As the engine's: a lead only once enough is due at the instant.
      planLeadMs: () => (soonAt !== null || dueThen < 100 ? 0 : 30),
      onSoon: (at) => (soonAt = clock.nowMs() - at),
      onDue: () => {},
      timers,
    });
    loop.start();
    dueThen = 99;
    loop.poke(dueMs);
    dueThen = 100;
    loop.poke(dueMs);
    loop.poke(dueMs);
    assert.deepEqual(run(1), [970], "one timer, armed 30 ms before the instant");
    assert.equal(soonAt, -30);
    loop.stop();
  });

  it("without a lead never calls onSoon", async () => {
    const clock = new SystemClock();
    const dueMs = clock.nowMs() + 20;
    let soon = 0;
    const { loop, events } = loopWithEvents(clock, () => dueMs);
    const fired = nextEvent<number>(events, "due");
    const withLead = new TimerLoop({
      clock,
      nextDueMs: () => dueMs,
      planLeadMs: () => 0,
      onSoon: () => soon++,
      onDue: () => {},
    });
    loop.start();
    withLead.start();
    assert.ok((await fired) >= dueMs);
    loop.stop();
    withLead.stop();
    assert.equal(soon, 0);
  });
});
