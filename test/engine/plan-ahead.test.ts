import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import { Task, type TaskCallback, type TaskOptions } from "../../src/core/task.js";
import { PLAN_AHEAD_MIN_RUNS } from "../../src/engine/ahead-planner.js";
import { engineOver } from "../helpers/run-engine.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { RunStartEvent } from "../../src/events.js";
import { ManualClock } from "../../src/time/clock.js";

const T = Date.parse("2026-03-02T10:00:00Z");

/**
 * A RunEngine over a memory store and a manual clock, with the Scheduler's
 * bookkeeping reduced to a map. `listening`: whether `run:start` has
 * listeners, which decides how a batch starts (one by one, announcing each,
 * or as a burst whose callbacks are called back to back).
 */
async function harness(listening: boolean) {
  const clock = new ManualClock(T - 20);
  const store = new MemoryStore();
  await store.open({ nodeId: "test", clock });
  const tasks = new Map<string, Task>();
  const handlers = new Map<string, TaskCallback>();
  const events: [string, unknown][] = [];
  const cache = new CronCache();
  const engine = engineOver(clock, store, {
    emit: (event, ...payload) => void events.push([event, payload[0]]),
    hasListeners: (event) => listening || event !== "run:start",
    task: (name) => tasks.get(name),
    handler: (name) => handlers.get(name),
  });
  const add = (
    name: string,
    callback: TaskCallback,
    options: TaskOptions = {},
    expression = "0 * * * *",
  ): Task => {
    const schedule = compileSchedule(expression, { nowMs: clock.nowMs(), timezone: "UTC", cache });
    const task = new Task(name, schedule, callback, resolveTaskOptions(options));
    tasks.set(name, task);
    const first = engine.firstRun(schedule, task.options, clock.nowMs());
    engine.schedule(task, first as number);
    return task;
  };
  /** `count` tasks on the hour, each counting its calls. */
  const burst = (count: number, options: TaskOptions = {}) => {
    const calls = new Map<string, number[]>();
    const list = Array.from({ length: count }, (_, i) => {
      const name = `t${i}`;
      calls.set(name, []);
      return add(name, () => void calls.get(name)?.push(clock.nowMs()), options);
    });
    return { list, calls };
  };
  return { clock, engine, events, tasks, handlers, add, burst };
}

for (const listening of [true, false]) {
  describe(`RunEngine: phase 1 planned ahead of a large instant (${listening ? "announcing each run" : "started as a burst"})`, () => {
    it("starts each run of the burst just before its callback: counted running, announced when listened to", async () => {
      const { clock, engine, events, add } = await harness(listening);
      const order: string[] = [];
      const list: Task[] = Array.from({ length: PLAN_AHEAD_MIN_RUNS }, (_, i) =>
        add(`t${i}`, () => {
          order.push(`call t${i}`);
          // The run started (counted) before its own callback, in both ways of starting.
          assert.equal(list[i]?.running, 1);
          assert.equal(list[i]?.lastRunMs, T);
        }),
      );
      engine.planAhead(T);
      clock.set(T);
      const announced = events.push.bind(events);
      events.push = (...items) => {
        for (const [event, payload] of items)
          if (event === "run:start")
            order.push(`start ${(payload as { taskName: string }).taskName}`);
        return announced(...items);
      };
      const report = await engine.runDue(T);
      assert.equal(report.ran, list.length);
      const expected = list.flatMap((task) =>
        listening ? [`start ${task.name}`, `call ${task.name}`] : [`call ${task.name}`],
      );
      assert.deepEqual(order, expected);
    });

    it("tells the instant's starts on runs:started, a thousand at a time, once every callback is called and before any end", async () => {
      const { clock, engine, events, add } = await harness(listening);
      const count = 2_500;
      let called = 0;
      // One with a timeout among them: not called by the burst, started one by one after it.
      const list = Array.from({ length: count }, (_, i) =>
        add(
          `t${i}`,
          () => {
            called++;
          },
          i === 1500 ? { timeoutMs: 1_000 } : {},
        ),
      );
      engine.planAhead(T);
      clock.set(T);
      const calledWhenTold: number[] = [];
      const push = events.push.bind(events);
      events.push = (...items) => {
        for (const [event] of items) if (event === "runs:started") calledWhenTold.push(called);
        return push(...items);
      };
      const report = await engine.runDue(T);
      assert.equal(report.ran, count);
      const told = events.filter(([event]) => event === "runs:started");
      assert.deepEqual(
        told.map(([, batch]) => (batch as unknown[]).length),
        [1024, 1024, 452],
      );
      assert.deepEqual(calledWhenTold, [count, count, count], "told once all were called");
      const starts = told.flatMap(([, batch]) => batch as RunStartEvent[]);
      assert.deepEqual(
        starts.map((e) => e.taskName),
        list.map((task) => task.name),
      );
      for (const e of starts) {
        assert.equal(e.scheduledAt.getTime(), T);
        assert.equal(e.startedAt.getTime(), T);
        assert.equal(e.attempt, 1);
        assert.equal(e.trigger, "schedule");
        assert.equal(e.runId, `local:${e.taskName}@${T}`);
      }
      // Each batch is told before any of its runs' ends.
      const names = events.map(([event]) => event);
      assert.ok(names.lastIndexOf("runs:started") < names.indexOf("run:success"));
      // With run:start listened to too, each run is announced once before its callback as well.
      if (listening) assert.equal(names.filter((name) => name === "run:start").length, count);
    });

    it("lets the event loop take turns while a large instant's ends are recorded (the next instant's timer need not wait for them)", async () => {
      const { clock, engine, events, add } = await harness(listening);
      const count = 10_000;
      const endsAtTurn: number[] = [];
      const ends = () => events.filter(([event]) => event === "run:success").length;
      for (let i = 0; i < count; i++) {
        // The first callback asks for a turn of the event loop, as a due timer would.
        add(`t${i}`, i === 0 ? () => void setImmediate(() => endsAtTurn.push(ends())) : () => {});
      }
      engine.planAhead(T);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.succeeded, count);
      assert.equal(ends(), count);
      assert.equal(endsAtTurn.length, 1);
      // Before, every end was recorded in one chain of microtasks, before any other turn.
      assert.ok(
        (endsAtTurn[0] as number) > 0 && (endsAtTurn[0] as number) < count,
        `the turn came after ${endsAtTurn[0]} of ${count} ends`,
      );
    });

    it("plans a large instant ahead, starts nothing early, and starts each run once at the instant", async () => {
      const { clock, engine, burst } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS * 2);
      // 20 ms plus 10 µs per due entry: cold code plans 10,000 in 20 to 30 ms.
      assert.equal(
        engine.planLeadMs(T),
        20 + Math.ceil(list.length / 100),
        "a large instant's lead",
      );
      engine.planAhead(T);
      assert.equal(engine.planLeadMs(T), 0, "planned once");
      assert.equal(engine.nextDueMs(), T, "the planned instant is still the next one");
      assert.equal(engine.scheduledCount, list.length);
      // Before the instant nothing starts, and the tasks look untouched.
      assert.equal((await engine.runDue(T - 1)).ran, 0);
      assert.ok([...calls.values()].every((at) => at.length === 0));
      assert.equal(list[0]?.info().nextRun?.getTime(), T);
      assert.equal(list[0]?.info().running, false);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.ran, list.length);
      assert.equal(report.succeeded, list.length);
      assert.ok([...calls.values()].every((at) => at.length === 1 && at[0] === T));
      assert.ok(list.every((task) => task.nextRunMs === T + 3_600_000 && task.runCount === 1));
      assert.equal(engine.nextDueMs(), T + 3_600_000);
    });

    it("does not plan small instants ahead", async () => {
      const { engine, burst } = await harness(listening);
      burst(PLAN_AHEAD_MIN_RUNS - 1);
      assert.equal(engine.planLeadMs(T), 0);
    });

    it("leaves out a task paused, removed or rescheduled after planning, and runs a rescheduled one once", async () => {
      const { clock, engine, burst } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS);
      engine.planAhead(T);
      const [paused, removed, resumed] = list as [Task, Task, Task];
      engine.pause(paused);
      removed.removed = true;
      engine.detach(removed);
      engine.pause(resumed);
      engine.resume(resumed);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.ran, list.length - 2);
      assert.deepEqual(calls.get(paused.name), []);
      assert.deepEqual(calls.get(removed.name), []);
      assert.deepEqual(calls.get(resumed.name), [T]);
      assert.equal(paused.state, "paused");
      assert.ok(Number.isNaN(paused.nextRunMs));
      assert.equal(resumed.nextRunMs, T + 3_600_000);
    });

    it("applies the overlap policy when a triggered run is in flight at the instant", async () => {
      const { clock, engine, burst, events } = await harness(listening);
      const { list } = burst(PLAN_AHEAD_MIN_RUNS);
      let release = (): void => {};
      let slowCalls = 0;
      const slow = list[0] as Task;
      // The first task's callback, for its triggered run, waits until released.
      (slow as { callback: TaskCallback }).callback = () => {
        slowCalls++;
        return new Promise<void>((resolve) => (release = resolve));
      };
      engine.planAhead(T);
      const triggered = engine.trigger(slow);
      assert.equal(slow.running, 1);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.skipped, 1, "overlap skip: the planned run is skipped");
      assert.equal(report.ran, list.length - 1);
      assert.equal(slowCalls, 1);
      assert.ok(
        events.some(
          ([event, payload]) =>
            event === "run:skipped" && (payload as { taskName: string }).taskName === slow.name,
        ),
      );
      assert.equal(slow.nextRunMs, T + 3_600_000, "rescheduled all the same");
      release();
      await triggered;
    });

    it("does not exceed maxRuns when a trigger used up the last run meanwhile", async () => {
      const { clock, engine, burst } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS, { maxRuns: 1 });
      engine.planAhead(T);
      const first = list[0] as Task;
      await engine.trigger(first);
      clock.set(T);
      await engine.runDue(T);
      assert.equal(calls.get(first.name)?.length, 1);
      assert.equal(first.state, "completed");
      assert.equal(calls.get((list[1] as Task).name)?.length, 1);
    });

    it("puts planned runs back when cancelled, so a later pass runs each once", async () => {
      const { clock, engine, burst } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS);
      engine.planAhead(T);
      engine.cancelPlanned();
      assert.equal(engine.nextDueMs(), T);
      assert.ok(engine.planLeadMs(T) > 0, "back in the queue, to be planned again");
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.ran, list.length);
      assert.ok([...calls.values()].every((at) => at.length === 1));
    });

    it("hands planned runs found late past their grace period to the misfire policy", async () => {
      const { clock, engine, burst, events } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS, { misfire: "skip" });
      engine.planAhead(T);
      clock.set(T + 5_000);
      const report = await engine.runDue(T + 5_000);
      assert.equal(report.ran, 0);
      assert.ok([...calls.values()].every((at) => at.length === 0));
      assert.equal(events.filter(([event]) => event === "run:missed").length, list.length);
      assert.ok(list.every((task) => task.nextRunMs === T + 3_600_000));
    });

    it("queues each task's next run once its callback has been called, unless a callback moved the task", async () => {
      const { clock, engine, add, burst, tasks } = await harness(listening);
      const { list } = burst(PLAN_AHEAD_MIN_RUNS);
      const [paused, removed, resumed] = list as [Task, Task, Task];
      const seen: (number | null)[] = [];
      // Registered last, so its callback runs after the others': it moves three of them.
      add("mover", (ctx) => {
        const info = tasks.get(ctx.taskName)?.info();
        seen.push(info?.nextRun?.getTime() ?? null, info?.lastRun?.getTime() ?? null);
        engine.pause(paused);
        removed.removed = true;
        engine.detach(removed);
        engine.pause(resumed);
        engine.resume(resumed);
      });
      engine.planAhead(T);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.ran, list.length + 1);
      assert.deepEqual(seen, [T + 3_600_000, T], "a callback sees its task's next and last run");
      assert.ok(Number.isNaN(paused.nextRunMs));
      assert.ok(Number.isNaN(removed.nextRunMs));
      assert.equal(resumed.nextRunMs, T + 3_600_000);
      // Every task but the paused and removed one is queued for the next hour, once.
      assert.equal(engine.scheduledCount, list.length + 1 - 2);
      clock.set(T + 3_600_000);
      assert.equal((await engine.runDue(T + 3_600_000)).ran, list.length + 1 - 2);
    });

    it("measures a synchronous callback's duration to its return, not to the end of its batch", async () => {
      const { clock, engine, add, events } = await harness(listening);
      for (let i = 0; i < PLAN_AHEAD_MIN_RUNS; i++) add(`quick${i}`, () => {});
      // The last callback of the batch takes five seconds of the manual clock.
      add("slow", () => void clock.advance(5_000));
      engine.planAhead(T);
      clock.set(T);
      await engine.runDue(T);
      const durations = new Map(
        events
          .filter(([event]) => event === "run:success")
          .map(([, payload]) => {
            const { taskName, durationMs } = payload as { taskName: string; durationMs: number };
            return [taskName, durationMs];
          }),
      );
      assert.equal(durations.size, PLAN_AHEAD_MIN_RUNS + 1);
      assert.equal(durations.get("quick0"), 0);
      assert.equal(durations.get(`quick${PLAN_AHEAD_MIN_RUNS - 1}`), 0);
      assert.equal(durations.get("slow"), 5_000);
    });

    it("records every kind of ending in one planned instant, each run started once", async () => {
      const { clock, engine, add, burst, handlers } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS);
      const called: string[] = [];
      const throws = add("throws", () => {
        called.push("throws");
        throw new Error("sync");
      });
      const resolves = add("resolves", () => {
        called.push("resolves");
        return Promise.resolve(42);
      });
      const rejects = add("rejects", () => {
        called.push("rejects");
        return Promise.reject(new Error("async"));
      });
      const timesOut = add(
        "times-out",
        () => {
          called.push("times-out");
          return new Promise(() => {});
        },
        { timeoutMs: 20 },
      );
      // Handlers given by name: one defined (called by name, not inline), one not (fails).
      handlers.set("defined", () => void called.push("defined"));
      const named = add("named", () => {});
      (named as { callback: unknown }).callback = "defined";
      const unknown = add("unknown", () => {});
      (unknown as { callback: unknown }).callback = "not-defined";
      engine.planAhead(T);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.deepEqual(
        { ran: report.ran, succeeded: report.succeeded, failed: report.failed },
        { ran: list.length + 6, succeeded: list.length + 2, failed: 4 },
      );
      assert.deepEqual(called.sort(), ["defined", "rejects", "resolves", "throws", "times-out"]);
      assert.ok([...calls.values()].every((at) => at.length === 1));
      assert.deepEqual(
        [throws, resolves, rejects, timesOut, named, unknown].map((task) => task.lastStatus),
        ["failed", "succeeded", "failed", "timed-out", "succeeded", "failed"],
      );
      assert.ok(list.every((task) => task.lastStatus === "succeeded" && task.lastRunMs === T));
      assert.ok(
        [...list, throws, resolves, rejects, timesOut, named, unknown].every(
          (t) => t.running === 0,
        ),
      );
    });

    it("lets a callback trigger a task of the same instant: that task already started, so overlap skips the trigger", async () => {
      const { clock, engine, add, burst } = await harness(listening);
      const { list, calls } = burst(PLAN_AHEAD_MIN_RUNS);
      const target = list[PLAN_AHEAD_MIN_RUNS - 1] as Task;
      let triggered: Promise<{ ran: number; skipped: number }> | undefined;
      add("trigger", () => {
        triggered = engine.trigger(target);
      });
      // Every run of the instant counts as started before any callback is called.
      engine.planAhead(T);
      clock.set(T);
      await engine.runDue(T);
      const result = await (triggered as Promise<{ ran: number; skipped: number }>);
      assert.deepEqual({ ran: result.ran, skipped: result.skipped }, { ran: 0, skipped: 1 });
      assert.equal(calls.get(target.name)?.length, 1);
    });

    it("lets a callback wait for the batch's other runs (as stop() does) without waiting for itself", async () => {
      const { clock, engine, add } = await harness(listening);
      const releases: (() => void)[] = [];
      for (let i = 0; i < PLAN_AHEAD_MIN_RUNS; i++)
        add(`slow${i}`, () => new Promise<void>((resolve) => releases.push(resolve)));
      let drained = false;
      let token: object | undefined;
      add("waiter", async () => {
        token = engine.calling;
        await engine.drain(token);
        drained = true;
      });
      engine.planAhead(T);
      clock.set(T);
      const done = engine.runDue(T);
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(token !== undefined, "the waiting callback holds its run's token");
      assert.equal(releases.length, PLAN_AHEAD_MIN_RUNS, "every callback was called");
      assert.equal(drained, false, "it waits for the others");
      for (const release of releases) release();
      const report = await done;
      assert.equal(drained, true);
      assert.equal(report.succeeded, PLAN_AHEAD_MIN_RUNS + 1);
    });

    it("calls handlers given by name as looked up when planned, or as redefined (planned runs cancelled)", async () => {
      const { clock, engine, add, handlers } = await harness(listening);
      const calls: string[] = [];
      handlers.set("h", () => void calls.push("first"));
      for (let i = 0; i < PLAN_AHEAD_MIN_RUNS; i++) {
        const task = add(`named${i}`, () => {});
        (task as { callback: unknown }).callback = "h";
      }
      engine.planAhead(T);
      clock.set(T);
      assert.equal((await engine.runDue(T)).succeeded, PLAN_AHEAD_MIN_RUNS);
      assert.deepEqual(new Set(calls), new Set(["first"]));
      assert.equal(calls.length, PLAN_AHEAD_MIN_RUNS);
      // What Scheduler.defineHandler does when a name is defined again.
      const next = T + 3_600_000;
      engine.planAhead(next);
      handlers.set("h", () => void calls.push("second"));
      engine.cancelPlanned();
      clock.set(next);
      assert.equal((await engine.runDue(next)).succeeded, PLAN_AHEAD_MIN_RUNS);
      assert.equal(calls.filter((which) => which === "second").length, PLAN_AHEAD_MIN_RUNS);
    });

    it("lists planned tasks among those due soon (what is claimed ahead)", async () => {
      const { engine, burst } = await harness(listening);
      const { list } = burst(PLAN_AHEAD_MIN_RUNS);
      engine.planAhead(T);
      assert.equal(engine.dueBy(T, 10_000).length, list.length);
      engine.pause(list[0] as Task);
      assert.equal(engine.dueBy(T, 10_000).length, list.length - 1);
      // Only instants after `afterMs`: what a later round of claiming ahead has not seen.
      assert.equal(engine.dueBy(T, 10_000, T).length, 0);
      assert.equal(engine.dueBy(T, 10_000, T - 1).length, list.length - 1);
    });
  });
}
