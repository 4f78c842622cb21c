/**
 * Regression tests of issue 15 for the library on the memory store:
 * `runPending()` reads the time once the store is open (obs. 12), `stop()`
 * waits for the callbacks of a user's own `runPending()` (obs. 13) and for
 * claims still in flight, which then start nothing (obs. 4).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deferred } from "../helpers/events.js";
import { slowClaimNodes } from "../helpers/slow-claim-store.js";
import { manualScheduler, turns } from "../helpers/scheduler.js";

/** A scheduler with one every-minute task whose callback notes when it starts and ends, and waits for `gate` between. */
async function slowTaskScheduler() {
  const { scheduler, clock } = manualScheduler();
  const gate = deferred();
  const events: string[] = [];
  await scheduler.registerTask("slow", "* * * * *", async () => {
    events.push("started");
    await gate.promise;
    events.push("callback done");
  });
  return { scheduler, clock, gate, events };
}

/**
 * With the slow task's callback running: `stopped` (a stop() noting "stopped") does not resolve
 * until the callback is let go, and then resolves after it ended.
 */
async function stopsAfterTheCallback(rig: {
  gate: { resolve(): void };
  events: string[];
  /** The stop() (read once the callback runs: a listener may start it). */
  stopped: () => Promise<unknown> | undefined;
  pending: Promise<unknown>;
}): Promise<void> {
  await turns(20);
  assert.deepEqual(rig.events, ["started"], "stop() has not resolved while the callback runs");
  rig.gate.resolve();
  await rig.stopped();
  await rig.pending;
  assert.deepEqual(rig.events, ["started", "callback done", "stopped"]);
}

describe("issue 15: runPending() and stop() (memory store)", () => {
  it("runPending() calls made while the store opens all read the time they run at: one catch-up, not five late runs (obs. 12)", async () => {
    const { scheduler, clock } = manualScheduler();
    const ran: string[] = [];
    void scheduler.registerTask("every-second", "* * * * * *", (ctx) => {
      ran.push(ctx.scheduledAt.toISOString().slice(17, 19));
    });
    // Five calls, a second apart, each made before the store has finished opening.
    const calls: Promise<unknown>[] = [];
    for (let second = 1; second <= 5; second++) {
      clock.set(`2026-01-01T00:00:0${second}Z`);
      calls.push(scheduler.runPending());
    }
    clock.set("2026-01-01T00:00:05.400Z");
    await Promise.all(calls);
    // Seen at 5.4 s: occurrences 1 to 4 are missed, 5 runs once (run-once), on time.
    assert.deepEqual(ran, ["05"]);
    const history = await scheduler.history("every-second");
    assert.deepEqual(history.map((row) => `${row.status}@${row.scheduledAt % 60_000}`).sort(), [
      "missed@1000",
      "succeeded@5000",
    ]);
    await scheduler.stop();
  });

  it("stop() waits for the callbacks of a runPending() the user called, without start() (obs. 13)", async () => {
    const { scheduler, clock, gate, events } = await slowTaskScheduler();
    clock.advance("1m");
    const pending = scheduler.runPending();
    await turns();
    assert.deepEqual(events, ["started"]);
    const stopped = scheduler.stop().then(() => events.push("stopped"));
    await stopsAfterTheCallback({ gate, events, stopped: () => stopped, pending });
  });

  it("stop() called from a run:start listener waits for that run's callback too", async () => {
    const { scheduler, clock, gate, events } = await slowTaskScheduler();
    let stopped: Promise<unknown> | undefined;
    scheduler.on("run:start", () => {
      stopped ??= scheduler.stop().then(() => events.push("stopped"));
    });
    clock.advance("1m");
    const pending = scheduler.runPending();
    await stopsAfterTheCallback({ gate, events, stopped: () => stopped, pending });
  });

  for (const driver of ["runPending()", "the timer"] as const) {
    it(`stop() waits for claims in flight (${driver}); a claim that comes back then starts nothing and is released (obs. 4)`, async () => {
      const { a, b, store, clock } = await slowClaimNodes();
      const calls: string[] = [];
      await a.registerTask("t", "* * * * *", () => void calls.push("called"));
      if (driver === "the timer") await a.start();
      clock.advance("1m");
      const pending = driver === "the timer" ? Promise.resolve() : a.runPending();
      await turns();
      assert.equal(store.claimsAsked, 1, "the claim is in flight");
      let stopped = false;
      const stopping = a.stop().then(() => (stopped = true));
      await turns(20);
      assert.equal(stopped, false, "stop() waits for the claim in flight");
      store.release();
      await stopping;
      await pending;
      assert.deepEqual(calls, [], "a claim that came back while stopping started nothing");
      await turns(20);
      assert.deepEqual(calls, [], "nor after stop() resolved");
      const history = await a.history("t");
      assert.deepEqual(
        history.map((row) => row.status),
        ["missed"],
        "the run is recorded, under its claim",
      );
      // The claim was released: the task is held by no one (an exclusive claim of it is not overlapping).
      const next = await store.claimRun({
        taskName: "t",
        scheduledAt: Date.parse("2026-01-01T00:02:00Z"),
        nodeId: "b",
        leaseMs: 30_000,
        exclusive: true,
      });
      assert.equal(next?.overlapping ?? false, false);
      await b.stop();
    });
  }
});
