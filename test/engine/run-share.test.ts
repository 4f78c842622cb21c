/**
 * Phase 2 with the work shared (a RunEngine over a memory store, a manual
 * clock and a stub share): a run of a task another node owns waits to be
 * taken over, unless this node holds a claim taken ahead for it. That claim
 * was taken while the task was this node's; the owner's own claim is then
 * refused, so a run left to the owner would be run by nobody.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import { Task } from "../../src/core/task.js";
import type { TakeoverShare } from "../../src/engine/run-takeover.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { ClaimRequest } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { engineOver } from "../helpers/run-engine.js";

const T = Date.parse("2026-03-02T10:00:00Z");

/**
 * Two tasks due at T, both owned by another node and past this node's
 * three (never looked at again); `held` says which runs are claimed ahead
 * here, before the batch is split and after.
 */
async function harness(held: (taskName: string, atMs: number, split: boolean) => boolean) {
  const clock = new ManualClock(T - 20);
  const store = new MemoryStore();
  await store.open({ nodeId: "test", clock });
  const tasks = new Map<string, Task>();
  const calls: string[] = [];
  const takenOver: string[] = [];
  // Asked of the deferred runs once the batch is split.
  let split = false;
  const share: TakeoverShare = {
    owns: () => false,
    backs: () => {
      split = true;
      return false;
    },
    takesOver: () => false,
    takeoverDelayMs: 5,
    takeOver: (requests: readonly ClaimRequest[]) => {
      for (const request of requests) takenOver.push(request.taskName);
      return store.claimRuns(requests);
    },
    heldAhead: (taskName, atMs) => held(taskName, atMs, split),
  };
  const engine = engineOver(clock, store, { task: (name) => tasks.get(name), share });
  const cache = new CronCache();
  for (const name of ["held", "other"]) {
    const schedule = compileSchedule("0 * * * *", { nowMs: clock.nowMs(), timezone: "UTC", cache });
    const task = new Task(name, schedule, () => void calls.push(name), resolveTaskOptions({}));
    tasks.set(name, task);
    engine.schedule(task, engine.firstRun(schedule, task.options, clock.nowMs()) as number);
  }
  clock.set(T);
  return { engine, calls, takenOver };
}

describe("RunEngine: runs of another node's share", () => {
  it("starts a run claimed ahead here at its instant; leaves the others to their owner", async () => {
    const { engine, calls, takenOver } = await harness(
      (name, atMs) => name === "held" && atMs === T,
    );
    const report = await engine.runDue(T);
    assert.deepEqual(calls, ["held"], "only the run whose claim is held here ran");
    assert.equal(report.ran, 1);
    assert.deepEqual(takenOver, [], "claimed at the instant, not taken over");
  });

  it("takes over a run whose claim taken ahead arrived after the instant's split (a round on its way)", async () => {
    // Not held when the batch is split, held by the time the deferred runs are looked at again.
    const { engine, calls, takenOver } = await harness(
      (name, _, split) => name === "held" && split,
    );
    const report = await engine.runDue(T);
    assert.deepEqual(calls, ["held"]);
    assert.equal(report.ran, 1);
    assert.deepEqual(takenOver, ["held"], "taken over (its claim held ahead is used there)");
  });
});
