import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { RunSkippedEvent } from "../../src/events.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { deferred } from "../helpers/events.js";
import { manualScheduler, turns } from "../helpers/scheduler.js";
import { PLAN_AHEAD } from "../helpers/plan-ahead.js";

describe("Scheduler concurrency: the seed's four scenarios", () => {
  it("concurrent registration: many registrations interleaved with runPending() all land and each run happens once", async () => {
    const { scheduler, clock } = manualScheduler();
    const runs = new Map<string, number>();
    const count = (ctx: { taskName: string; scheduledAt: Date }): void => {
      const key = `${ctx.taskName}@${ctx.scheduledAt.toISOString()}`;
      runs.set(key, (runs.get(key) ?? 0) + 1);
    };
    clock.advance("30s");
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      work.push(scheduler.registerTask(`t${i}`, "* * * * *", count));
      if (i % 50 === 0) work.push(scheduler.runPending());
    }
    await Promise.all(work);
    assert.equal(scheduler.size, 500);
    clock.advance("30s");
    await Promise.all([scheduler.runPending(), scheduler.runPending(), scheduler.runPending()]);
    assert.equal(runs.size, 500);
    assert.ok([...runs.values()].every((n) => n === 1));
  });

  it("mixed reads and writes: random interleavings of every operation keep the invariants", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            op: fc.constantFrom(
              "register",
              "unregister",
              "pause",
              "resume",
              "trigger",
              "run",
              "advance",
              "read",
            ),
            task: fc.integer({ min: 0, max: 5 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        async (ops) => {
          const clock = new ManualClock("2026-01-01T00:00:00Z");
          const scheduler = new Scheduler(new Dispatcher(), {
            planAhead: PLAN_AHEAD,
            clock,
            timezone: "UTC",
            logger: silentLogger,
          });
          const seen = new Map<string, number>();
          scheduler.on("run:start", (event) => {
            if (event.trigger === "manual") return;
            const key = `${event.taskName}@${event.scheduledAt.getTime()}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          });
          const callback = async (): Promise<void> => {
            await Promise.resolve();
          };
          const pending: Promise<unknown>[] = [];
          for (const { op, task } of ops) {
            const name = `t${task}`;
            const exists = scheduler.getTask(name) !== undefined;
            switch (op) {
              case "register":
                if (!exists)
                  pending.push(
                    scheduler.registerTask(name, "* * * * *", callback, { overlap: "allow" }),
                  );
                break;
              case "unregister":
                pending.push(scheduler.unregisterTask(name));
                break;
              case "pause":
                if (exists) pending.push(scheduler.pauseTask(name));
                break;
              case "resume":
                if (exists) pending.push(scheduler.resumeTask(name));
                break;
              case "trigger":
                if (exists) pending.push(scheduler.triggerTask(name));
                break;
              case "run":
                pending.push(scheduler.runPending());
                break;
              case "advance":
                clock.advance("1m");
                break;
              case "read":
                for (const info of scheduler.listTasks())
                  assert.equal(scheduler.getTask(info.name)?.name, info.name);
                break;
            }
          }
          await Promise.all(pending);
          // Every scheduled (task, time) ran at most once.
          for (const [key, n] of seen) assert.equal(n, 1, key);
          for (const info of scheduler.listTasks()) {
            assert.equal(info.running, false);
            assert.ok(info.state === "active" || info.state === "paused");
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("registration during execution: callbacks register, unregister and trigger tasks, themselves included, without deadlock or lost updates", async () => {
    const { scheduler, clock } = manualScheduler();
    const seen: string[] = [];
    await scheduler.registerTask("victim", "* * * * *", () => void seen.push("victim"));
    await scheduler.registerTask(
      "self",
      "* * * * *",
      async (ctx) => {
        seen.push(`self#${ctx.attempt}`);
        await scheduler.registerTask("child", "* * * * *", () => void seen.push("child"));
        await scheduler.unregisterTask("victim");
        // Re-registering itself (replace) from its own callback.
        await scheduler.registerTask("self", "*/2 * * * *", () => void seen.push("self v2"), {
          replace: true,
        });
        // Triggering itself: skipped (overlap skip), resolves at once instead of waiting for itself.
        assert.deepEqual(await scheduler.triggerTask("self"), {
          ran: 1,
          succeeded: 1,
          failed: 0,
          skipped: 0,
        });
        await scheduler.runPending();
      },
      { overlap: "skip" },
    );
    clock.advance("1m");
    await scheduler.runPending();
    assert.ok(seen.includes("self#1"));
    assert.ok(seen.includes("self v2"), "the trigger ran the replacement task");
    assert.equal(scheduler.getTask("victim"), undefined);
    assert.equal(scheduler.getTask("child")?.state, "active");
    assert.equal(scheduler.getTask("self")?.schedule, "*/2 * * * *");
    seen.length = 0;
    clock.advance("1m");
    await scheduler.runPending();
    assert.deepEqual(seen.sort(), ["child", "self v2"]);
  });

  it("long-running callbacks do not block other tasks' runs", async () => {
    const { scheduler, clock } = manualScheduler();
    const gate = deferred();
    const started = deferred();
    let quick = 0;
    await scheduler.registerTask("long", new Date("2026-01-01T00:01:00Z"), async () => {
      started.resolve();
      await gate.promise;
    });
    await scheduler.registerTask("quick", "* * * * *", () => void quick++);
    clock.advance("1m");
    const first = scheduler.runPending();
    await started.promise;
    await turns();
    assert.equal(quick, 1, "quick ran alongside long, in the same runPending()");
    for (let i = 0; i < 5; i++) {
      clock.advance("1m");
      await scheduler.runPending();
    }
    assert.equal(quick, 6);
    assert.equal(scheduler.getTask("long")?.running, true);
    gate.resolve();
    assert.deepEqual(await first, { ran: 2, succeeded: 2, failed: 0, skipped: 0 });
  });
});

describe("Scheduler concurrency: guarantees", () => {
  it("two overlapping runPending() calls never run one task twice", async () => {
    const { scheduler, clock } = manualScheduler();
    const runs: string[] = [];
    for (let i = 0; i < 50; i++) {
      await scheduler.registerTask(`t${i}`, "* * * * *", async (ctx) => {
        await Promise.resolve();
        runs.push(`${ctx.taskName}@${ctx.scheduledAt.toISOString()}`);
      });
    }
    clock.advance("1m");
    const [a, b] = await Promise.all([scheduler.runPending(), scheduler.runPending()]);
    assert.equal(a.ran + b.ran, 50);
    assert.equal(new Set(runs).size, 50);
    assert.equal(runs.length, 50);
  });

  it("overlap skip: a due run of a running task is skipped and reported", async () => {
    const { scheduler, clock } = manualScheduler();
    const gate = deferred();
    let runs = 0;
    const skipped: RunSkippedEvent[] = [];
    scheduler.on("run:skipped", (event) => skipped.push(event));
    await scheduler.registerTask("t", "* * * * *", async () => {
      runs++;
      await gate.promise;
    });
    clock.advance("1m");
    const first = scheduler.runPending();
    await turns();
    clock.advance("1m");
    assert.deepEqual(await scheduler.runPending(), { ran: 0, succeeded: 0, failed: 0, skipped: 1 });
    assert.equal(skipped[0]?.reason, "overlap");
    assert.equal(skipped[0]?.scheduledAt.toISOString(), "2026-01-01T00:02:00.000Z");
    gate.resolve();
    await first;
    assert.equal(runs, 1);
  });

  it("overlap queue: runs wait for the running one, in order; allow: runs concurrently", async () => {
    const { scheduler, clock } = manualScheduler();
    const gate = deferred();
    const order: string[] = [];
    let active = 0;
    let peakQueue = 0;
    let peakAllow = 0;
    await scheduler.registerTask(
      "queue",
      "* * * * *",
      async (ctx) => {
        active++;
        peakQueue = Math.max(peakQueue, active);
        order.push(ctx.scheduledAt.toISOString().slice(11, 16));
        await gate.promise;
        active--;
      },
      { overlap: "queue" },
    );
    let allowActive = 0;
    await scheduler.registerTask(
      "allow",
      "* * * * *",
      async () => {
        allowActive++;
        peakAllow = Math.max(peakAllow, allowActive);
        await gate.promise;
        allowActive--;
      },
      { overlap: "allow" },
    );
    clock.advance("1m");
    const first = scheduler.runPending();
    await turns();
    clock.advance("1m");
    const second = scheduler.runPending();
    await turns();
    clock.advance("1m");
    const third = scheduler.runPending();
    await turns();
    assert.deepEqual(order, ["00:01"]);
    assert.equal(peakAllow, 3);
    gate.resolve();
    await Promise.all([first, second, third]);
    assert.deepEqual(order, ["00:01", "00:02", "00:03"]);
    assert.equal(peakQueue, 1);
  });

  it("a task removed while running is not rescheduled (and a replaced one runs only as the new version)", async () => {
    const { scheduler, clock } = manualScheduler();
    const gate = deferred();
    const seen: string[] = [];
    await scheduler.registerTask("gone", "* * * * *", async () => {
      seen.push("gone");
      await gate.promise;
    });
    await scheduler.registerTask("swapped", "* * * * *", async () => {
      seen.push("old");
      await gate.promise;
    });
    clock.advance("1m");
    const running = scheduler.runPending();
    await turns();
    await scheduler.unregisterTask("gone");
    await scheduler.registerTask("swapped", "* * * * *", () => void seen.push("new"), {
      replace: true,
    });
    gate.resolve();
    await running;
    seen.length = 0;
    await scheduler.advanceTo("2026-01-01T00:10:00Z");
    assert.deepEqual([...new Set(seen)], ["new"]);
    assert.equal(seen.length, 9);
    assert.equal(scheduler.getTask("gone"), undefined);
  });

  it("a callback can trigger itself with overlap queue, and stop the scheduler, without deadlock", async () => {
    const { scheduler, clock } = manualScheduler();
    let runs = 0;
    await scheduler.registerTask(
      "q",
      "* * * * *",
      async () => {
        runs++;
        if (runs === 1) {
          // stop() called synchronously from a callback does not wait for that callback.
          const stopped = scheduler.stop();
          // Queued behind this very run: resolves at once rather than waiting for itself.
          assert.deepEqual(await scheduler.triggerTask("q"), {
            ran: 0,
            succeeded: 0,
            failed: 0,
            skipped: 0,
          });
          await stopped;
        }
      },
      { overlap: "queue" },
    );
    await scheduler.start();
    clock.advance("1m");
    await scheduler.runPending();
    await turns();
    assert.equal(runs, 2);
    assert.equal(scheduler.running, false);
  });

  it("stop() waits for running callbacks", async () => {
    const { scheduler, clock } = manualScheduler();
    const gate = deferred();
    const events: string[] = [];
    await scheduler.registerTask("t", "* * * * *", async () => {
      await gate.promise;
      events.push("callback done");
    });
    await scheduler.start();
    const started = new Promise((resolve) => scheduler.once("run:start", resolve));
    clock.advance("1m");
    await started;
    const stopped = scheduler.stop().then(() => events.push("stopped"));
    await turns(10);
    assert.deepEqual(events, []);
    gate.resolve();
    await stopped;
    assert.deepEqual(events, ["callback done", "stopped"]);
  });

  it("start() and stop() are idempotent and race-safe", async () => {
    const { scheduler } = manualScheduler();
    await Promise.all([scheduler.start(), scheduler.start()]);
    assert.equal(scheduler.running, true);
    await Promise.all([scheduler.stop(), scheduler.stop()]);
    assert.equal(scheduler.running, false);
    const racing = [
      scheduler.start(),
      scheduler.stop(),
      scheduler.start(),
      scheduler.stop(),
      scheduler.start(),
    ];
    await Promise.all(racing);
    assert.equal(scheduler.running, true);
    await scheduler.stop();
    assert.equal(scheduler.running, false);
  });

  it("two schedulers sharing one store run each occurrence exactly once", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const store = new MemoryStore();
    const nodes = ["a", "b"].map(
      (nodeId) =>
        new Scheduler(new Dispatcher(), {
          planAhead: PLAN_AHEAD,
          clock,
          store,
          nodeId,
          timezone: "UTC",
          logger: silentLogger,
        }),
    );
    const runs: string[] = [];
    for (const [i, node] of nodes.entries()) {
      for (let t = 0; t < 20; t++) {
        // The store holds one record per name; the second node keeps its own copy in memory only.
        const register = node.registerTask(
          `t${t}`,
          "* * * * *",
          (ctx) => void runs.push(`${ctx.taskName}@${ctx.scheduledAt.getTime()}`),
        );
        await (i === 0 ? register : register.catch(() => undefined));
      }
    }
    for (let minute = 0; minute < 5; minute++) {
      clock.advance("1m");
      await Promise.all(nodes.map((node) => node.runPending()));
    }
    assert.equal(runs.length, 100);
    assert.equal(new Set(runs).size, 100);
  });
});
