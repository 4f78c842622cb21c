import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { TaskContext } from "../../src/core/task.js";
import {
  CronSyntaxError,
  DuplicateTaskError,
  InvalidArgumentError,
  NonRetryableError,
  StoreError,
  TaskNotFoundError,
} from "../../src/errors.js";
import type { RunErrorEvent, RunMissedEvent } from "../../src/events.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { manualScheduler, turns } from "../helpers/scheduler.js";
import { PLAN_AHEAD } from "../helpers/plan-ahead.js";

const noop = (): void => {};

describe("Scheduler: the specified shape", () => {
  it("runs the README example: a minute task, runPending, testMode", async () => {
    const { scheduler, clock } = manualScheduler();
    const runs: string[] = [];
    const info = await scheduler.registerTask("minute_task", "* * * * *", (ctx) => {
      runs.push(ctx.scheduledAt.toISOString());
    });
    assert.equal(info.name, "minute_task");
    assert.equal(info.nextRun?.toISOString(), "2026-01-01T00:01:00.000Z");
    assert.deepEqual(await scheduler.runPending(), { ran: 0, succeeded: 0, failed: 0, skipped: 0 });
    clock.advance("1m");
    assert.deepEqual(await scheduler.runPending(), { ran: 1, succeeded: 1, failed: 0, skipped: 0 });
    assert.deepEqual(runs, ["2026-01-01T00:01:00.000Z"]);
    assert.equal(scheduler.testMode, false);
    scheduler.testMode = true;
    assert.equal(scheduler.testMode, true);
    clock.advance("1m");
    assert.equal(
      (await scheduler.runPending()).succeeded,
      1,
      "testMode never changes schedule semantics",
    );
    assert.throws(() => {
      (scheduler as unknown as { testMode: unknown }).testMode = "yes";
    }, InvalidArgumentError);
  });

  it("makes a task visible to runPending() before its promise resolves", async () => {
    const { scheduler, clock } = manualScheduler();
    let ran = 0;
    const registered = scheduler.registerTask("now", clock.now(), () => void ran++);
    const report = await scheduler.runPending();
    assert.equal(report.ran, 1);
    assert.equal(ran, 1);
    assert.equal((await registered).name, "now");
  });

  it("passes taskName, scheduledAt, attempt, signal and payload to the callback", async () => {
    const { scheduler, clock } = manualScheduler();
    let seen: TaskContext<{ to: string }> | undefined;
    await scheduler.registerTask<{ to: string }>("ctx", "*/5 * * * *", (ctx) => void (seen = ctx), {
      payload: { to: "ops@example.com" },
    });
    clock.advance("5m");
    await scheduler.runPending();
    assert.equal(seen?.taskName, "ctx");
    assert.equal(seen?.scheduledAt.toISOString(), "2026-01-01T00:05:00.000Z");
    assert.equal(seen?.attempt, 1);
    assert.ok(seen?.signal instanceof AbortSignal);
    assert.deepEqual(seen?.payload, { to: "ops@example.com" });
  });

  it("supports one-time Dates, { every } intervals, and per-task time zones", async () => {
    const { scheduler, clock } = manualScheduler();
    const seen: string[] = [];
    await scheduler.registerTask(
      "once",
      new Date("2026-01-01T00:02:30Z"),
      () => void seen.push("once"),
    );
    await scheduler.registerTask(
      "every",
      { every: "90s" },
      (ctx) => void seen.push(`every ${ctx.scheduledAt.toISOString()}`),
    );
    await scheduler.registerTask(
      "paris",
      "0 9 * * *",
      (ctx) => void seen.push(`paris ${ctx.scheduledAt.toISOString()}`),
      {
        timezone: "Europe/Paris",
      },
    );
    await scheduler.advanceTo("2026-01-01T08:00:00Z");
    assert.deepEqual(seen.slice(0, 4), [
      "every 2026-01-01T00:01:30.000Z",
      "once",
      "every 2026-01-01T00:03:00.000Z",
      "every 2026-01-01T00:04:30.000Z",
    ]);
    assert.ok(seen.includes("paris 2026-01-01T08:00:00.000Z"));
    assert.equal(scheduler.getTask("once")?.state, "completed");
    assert.equal(scheduler.getTask("once")?.nextRun, null);
    assert.equal(scheduler.getTask("paris")?.timezone, "Europe/Paris");
    assert.equal(clock.now().toISOString(), "2026-01-01T08:00:00.000Z");
  });

  it("reports nextRun, lastRun, lastStatus, runCount and state for each task", async () => {
    const { scheduler, clock } = manualScheduler();
    await scheduler.registerTask("ok", "* * * * *", noop);
    await scheduler.registerTask("bad", "* * * * *", () => {
      throw new Error("no");
    });
    clock.advance("1m");
    await scheduler.runPending();
    const [ok, bad] = scheduler.listTasks();
    assert.deepEqual(
      { ...ok, payload: undefined },
      {
        name: "ok",
        kind: "cron",
        schedule: "* * * * *",
        timezone: "UTC",
        state: "active",
        running: false,
        nextRun: new Date("2026-01-01T00:02:00Z"),
        lastRun: new Date("2026-01-01T00:01:00Z"),
        lastStatus: "succeeded",
        runCount: 1,
        overlap: "skip",
        misfire: "run-once",
        payload: undefined,
      },
    );
    assert.equal(bad?.lastStatus, "failed");
    assert.equal(bad?.runCount, 1);
    assert.equal(scheduler.getTask("nope"), undefined);
  });
});

describe("Scheduler: registration validates synchronously and leaves the scheduler unchanged", () => {
  const cases: [string, (s: Scheduler) => unknown, new (...args: never[]) => Error, RegExp][] = [
    ["a bad cron", (s) => s.registerTask("t", "* * * * * * * *", noop), CronSyntaxError, /cron/i],
    ["a step too large", (s) => s.registerTask("t", "0 */30 * * *", noop), CronSyntaxError, /./],
    [
      "a cron that never fires",
      (s) => s.registerTask("t", "0 0 30 2 *", noop),
      InvalidArgumentError,
      /fires at least once/,
    ],
    [
      "a past Date",
      (s) => s.registerTask("t", new Date("2025-12-31T23:59:59Z"), noop),
      InvalidArgumentError,
      /not in the past/,
    ],
    [
      "an invalid Date",
      (s) => s.registerTask("t", new Date("nope"), noop),
      InvalidArgumentError,
      /valid Date/,
    ],
    [
      "a non-function callback",
      (s) => s.registerTask("t", "* * * * *", 42 as never),
      InvalidArgumentError,
      /`callback`/,
    ],
    [
      "an unknown handler name",
      (s) => s.registerTask("t", "* * * * *", "missing"),
      InvalidArgumentError,
      /no handler/,
    ],
    [
      "a bad option",
      (s) => s.registerTask("t", "* * * * *", noop, { overlap: "never" as never }),
      InvalidArgumentError,
      /`options\.overlap`.*"never"/,
    ],
    [
      "a bad zone",
      (s) => s.registerTask("t", "* * * * *", noop, { timezone: "Mars/Olympus" }),
      InvalidArgumentError,
      /options\.timezone/,
    ],
    ["an empty name", (s) => s.registerTask("", "* * * * *", noop), InvalidArgumentError, /`name`/],
    [
      "a bad schedule",
      (s) => s.registerTask("t", 5 as never, noop),
      InvalidArgumentError,
      /`schedule`/,
    ],
    [
      "zero interval",
      (s) => s.registerTask("t", { every: 0 }, noop),
      InvalidArgumentError,
      /schedule\.every/,
    ],
    [
      "endAt before the first run",
      (s) => s.registerTask("t", "0 0 * * *", noop, { endAt: "2026-01-01T12:00:00Z" }),
      InvalidArgumentError,
      /before endAt/,
    ],
    [
      "a duplicate name",
      (s) => s.registerTask("existing", "* * * * *", noop),
      DuplicateTaskError,
      /replace: true/,
    ],
  ];
  for (const [label, register, type, message] of cases) {
    it(`throws at once for ${label}`, async () => {
      const { scheduler } = manualScheduler();
      await scheduler.registerTask("existing", "0 * * * *", noop);
      const before = scheduler.listTasks();
      let events = 0;
      scheduler.on("task:registered", () => events++);
      assert.throws(
        () => register(scheduler),
        (error: unknown) => {
          assert.ok(error instanceof type, `${String(error)} is not a ${type.name}`);
          assert.match(error.message, message);
          return true;
        },
      );
      assert.deepEqual(scheduler.listTasks(), before);
      assert.equal(events, 0);
    });
  }

  it("checkTask throws what registerTask would and registers nothing", async () => {
    const { scheduler } = manualScheduler();
    await scheduler.registerTask("existing", "0 * * * *", noop);
    const before = scheduler.listTasks();
    assert.throws(
      () => scheduler.checkTask("t", "* * * * *", noop, { timeoutMs: 2 ** 31 }),
      /`options\.timeoutMs`/,
    );
    assert.throws(() => scheduler.checkTask("existing", "* * * * *", noop), DuplicateTaskError);
    assert.throws(
      () => scheduler.checkTask("t", new Date("2025-12-31T23:59:59Z"), noop),
      /not in the past/,
    );
    scheduler.checkTask("t", "* * * * *", noop);
    scheduler.checkTask("existing", "* * * * *", noop, { replace: true });
    assert.deepEqual(scheduler.listTasks(), before);
  });

  it('registers a task with no run left as completed with noRunsLeft: "complete"', async () => {
    const { scheduler, clock } = manualScheduler();
    const runs: string[] = [];
    const run = (name: string) => () => void runs.push(name);
    const options = { noRunsLeft: "complete" } as const;
    const runPast = run("past");
    const past = await scheduler.registerTask(
      "past",
      new Date("2025-12-31T00:00:00Z"),
      runPast,
      options,
    );
    const ended = await scheduler.registerTask("ended", "* * * * *", run("ended"), {
      ...options,
      endAt: "2025-12-31T00:00:00Z",
    });
    await scheduler.registerTask("live", "* * * * *", run("live"), options);
    for (const info of [past, ended]) {
      assert.deepEqual([info.state, info.nextRun], ["completed", null], info.name);
    }
    assert.equal(scheduler.getTask("live")?.state, "active");
    clock.advance("1m");
    await scheduler.runPending();
    assert.deepEqual(runs, ["live"]);
    // The same definition again keeps the completed task.
    const again = await scheduler.registerTask(
      "past",
      new Date("2025-12-31T00:00:00Z"),
      runPast,
      options,
    );
    assert.equal(again.state, "completed");
  });

  it("replaces a task with replace: true; the old one never runs again", async () => {
    const { scheduler, clock } = manualScheduler();
    const seen: string[] = [];
    await scheduler.registerTask("t", "* * * * *", () => void seen.push("old"));
    await scheduler.registerTask("t", "* * * * *", () => void seen.push("new"), { replace: true });
    clock.advance("1m");
    await scheduler.runPending();
    assert.deepEqual(seen, ["new"]);
    assert.equal(scheduler.size, 1);
  });

  it("rejects the promise (not the call) when the store refuses, and undoes the registration", async () => {
    for (const sync of [true, false]) {
      const store = new MemoryStore();
      if (sync) {
        store.putTaskSync = () => {
          throw new Error("disk full");
        };
      } else {
        Object.assign(store, { putTaskSync: undefined });
        store.putTask = () => Promise.reject(new Error("disk full"));
      }
      const { scheduler } = manualScheduler({ store });
      const pending = scheduler.registerTask("t", "* * * * *", noop);
      await assert.rejects(pending, (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.match(String((error.cause as Error).message), /disk full/);
        return true;
      });
      assert.equal(scheduler.getTask("t"), undefined);
    }
  });

  it("refuses closures on a durable store", () => {
    const store = Object.assign(new MemoryStore(), { durable: true });
    const { scheduler } = manualScheduler({ store: store });
    assert.throws(() => scheduler.registerTask("t", "* * * * *", noop), /cannot keep a function/);
  });

  it("validates its own options", () => {
    const dispatcher = new Dispatcher();
    assert.throws(
      () => new Scheduler(dispatcher, { timezone: "Nowhere/Never" }),
      /options\.timezone/,
    );
    assert.throws(() => new Scheduler({} as Dispatcher), /`dispatcher`/);
    assert.throws(() => new Scheduler(dispatcher, { leaseMs: 0 }), /options\.leaseMs/);
    assert.throws(() => new Scheduler(dispatcher, { testMode: 1 as never }), /options\.testMode/);
  });
});

describe("Scheduler: lifecycle of tasks", () => {
  it("pauses and resumes (runs missed while paused are not caught up)", async () => {
    const { scheduler, clock } = manualScheduler();
    let runs = 0;
    await scheduler.registerTask("t", "* * * * *", () => void runs++);
    const paused = await scheduler.pauseTask("t");
    assert.equal(paused.state, "paused");
    assert.equal(paused.nextRun, null);
    clock.advance("10m");
    assert.equal((await scheduler.runPending()).ran, 0);
    const resumed = await scheduler.resumeTask("t");
    assert.equal(resumed.state, "active");
    assert.equal(resumed.nextRun?.toISOString(), "2026-01-01T00:11:00.000Z");
    clock.advance("1m");
    assert.equal((await scheduler.runPending()).ran, 1);
    assert.equal(runs, 1);
    await assert.rejects(scheduler.pauseTask("nope"), TaskNotFoundError);
  });

  it("unregisters: emits task:removed, never runs again", async () => {
    const { scheduler, clock } = manualScheduler();
    let runs = 0;
    const removed: string[] = [];
    scheduler.on("task:removed", (event) => removed.push(event.taskName));
    await scheduler.registerTask("t", "* * * * *", () => void runs++);
    assert.equal(await scheduler.unregisterTask("t"), true);
    assert.equal(await scheduler.unregisterTask("t"), false);
    clock.advance("5m");
    await scheduler.runPending();
    assert.equal(runs, 0);
    assert.deepEqual(removed, ["t"]);
  });

  it("triggers a task now, without moving its schedule", async () => {
    const { scheduler } = manualScheduler();
    const seen: string[] = [];
    await scheduler.registerTask(
      "t",
      "0 * * * *",
      (ctx) => void seen.push(ctx.scheduledAt.toISOString()),
    );
    assert.deepEqual(await scheduler.triggerTask("t"), {
      ran: 1,
      succeeded: 1,
      failed: 0,
      skipped: 0,
    });
    assert.deepEqual(await scheduler.triggerTask("t"), {
      ran: 1,
      succeeded: 1,
      failed: 0,
      skipped: 0,
    });
    assert.deepEqual(seen, ["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]);
    assert.equal(scheduler.getTask("t")?.nextRun?.toISOString(), "2026-01-01T01:00:00.000Z");
    assert.equal(scheduler.getTask("t")?.runCount, 2);
    await assert.rejects(scheduler.triggerTask("nope"), TaskNotFoundError);
  });

  it("honours startAt, endAt and maxRuns, then completes", async () => {
    const { scheduler } = manualScheduler();
    const seen: Record<string, string[]> = { window: [], max: [] };
    await scheduler.registerTask(
      "window",
      "0 * * * *",
      (ctx) => void seen.window?.push(ctx.scheduledAt.toISOString()),
      {
        startAt: "2026-01-01T02:30:00Z",
        endAt: "2026-01-01T05:00:00Z",
      },
    );
    await scheduler.registerTask(
      "max",
      "0 * * * *",
      (ctx) => void seen.max?.push(ctx.scheduledAt.toISOString()),
      { maxRuns: 2 },
    );
    const completed: string[] = [];
    scheduler.on("task:completed", (info) => completed.push(info.name));
    await scheduler.advanceTo("2026-01-02T00:00:00Z");
    assert.deepEqual(seen.window, [
      "2026-01-01T03:00:00.000Z",
      "2026-01-01T04:00:00.000Z",
      "2026-01-01T05:00:00.000Z",
    ]);
    assert.deepEqual(seen.max, ["2026-01-01T01:00:00.000Z", "2026-01-01T02:00:00.000Z"]);
    assert.deepEqual(completed.sort(), ["max", "window"]);
    assert.equal(scheduler.getTask("max")?.state, "completed");
  });

  it("starts each run within jitterMs after its time, with ctx.scheduledAt unchanged", async () => {
    const { scheduler, clock } = manualScheduler();
    const lateness: number[] = [];
    await scheduler.registerTask(
      "j",
      "* * * * *",
      (ctx) => {
        assert.equal(ctx.scheduledAt.getUTCSeconds(), 0);
        lateness.push(clock.nowMs() - ctx.scheduledAt.getTime());
      },
      { jitterMs: 20_000 },
    );
    await scheduler.advanceTo("2026-01-01T02:00:30Z");
    assert.equal(lateness.length, 120);
    assert.ok(lateness.every((ms) => ms >= 0 && ms <= 20_000));
    assert.ok(new Set(lateness).size > 1, "jitter is random");
  });

  it("runs named handlers defined with defineHandler", async () => {
    const { scheduler, clock } = manualScheduler();
    const seen: unknown[] = [];
    scheduler.defineHandler("send-report", (ctx) => void seen.push(ctx.payload));
    await scheduler.registerTask("daily-report", "* * * * *", "send-report", {
      payload: { to: "ops" },
    });
    clock.advance("1m");
    await scheduler.runPending();
    assert.deepEqual(seen, [{ to: "ops" }]);
  });
});

describe("Scheduler: errors are contained", () => {
  it("logs, emits run:error, counts, and never throws out of runPending (sync throw and rejection)", async () => {
    const { scheduler, clock, logger } = manualScheduler();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const errors: RunErrorEvent[] = [];
      scheduler.on("run:error", (event) => errors.push(event));
      await scheduler.registerTask("sync", "* * * * *", () => {
        throw new Error("sync boom");
      });
      await scheduler.registerTask("async", "* * * * *", async () => {
        await Promise.resolve();
        throw new Error("async boom");
      });
      await scheduler.registerTask("fine", "* * * * *", noop);
      clock.advance("1m");
      const report = await scheduler.runPending();
      assert.deepEqual(report, { ran: 3, succeeded: 1, failed: 2, skipped: 0 });
      assert.deepEqual(
        errors.map((e) => [e.taskName, (e.error as Error).message, e.status, e.willRetry]).sort(),
        [
          ["async", "async boom", "failed", false],
          ["sync", "sync boom", "failed", false],
        ],
      );
      const logged = logger.entries.filter((entry) => entry.level === "error");
      assert.equal(logged.length, 2);
      assert.ok(
        logged.every(
          (entry) => entry.obj.err instanceof Error && typeof entry.obj.taskName === "string",
        ),
      );
      await turns();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("retries with exponential backoff, then gives up; NonRetryableError stops at once", async () => {
    const { scheduler, clock } = manualScheduler();
    const attempts: string[] = [];
    await scheduler.registerTask(
      "flaky",
      new Date("2026-01-01T00:01:00Z"),
      (ctx) => {
        attempts.push(`${ctx.attempt}@${clock.now().toISOString()}`);
        throw new Error("again");
      },
      { retries: { attempts: 2, backoffMs: 1_000, factor: 3 } },
    );
    await scheduler.registerTask(
      "fatal",
      new Date("2026-01-01T00:01:00Z"),
      () => {
        attempts.push("fatal");
        throw new NonRetryableError("stop");
      },
      { retries: 5 },
    );
    const total = await scheduler.advanceTo("2026-01-01T00:10:00Z");
    assert.deepEqual(
      attempts.filter((a) => a !== "fatal"),
      ["1@2026-01-01T00:01:00.000Z", "2@2026-01-01T00:01:01.000Z", "3@2026-01-01T00:01:04.000Z"],
    );
    assert.equal(attempts.filter((a) => a === "fatal").length, 1);
    assert.deepEqual(total, { ran: 4, succeeded: 0, failed: 4, skipped: 0 });
    assert.equal(scheduler.getTask("flaky")?.runCount, 1);
    assert.equal(scheduler.getTask("flaky")?.state, "completed");
    const history = await scheduler.history("flaky");
    assert.deepEqual(
      history.map((r) => [r.attempt, r.status]),
      [
        [3, "failed"],
        [2, "failed"],
        [1, "failed"],
      ],
    );
  });

  it("times out a run: status timed-out, the callback's signal aborts", async () => {
    const { scheduler, clock } = manualScheduler();
    let aborted = false;
    await scheduler.registerTask(
      "slow",
      "* * * * *",
      ({ signal }) =>
        new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          }),
        ),
      { timeoutMs: 10 },
    );
    const errors: RunErrorEvent[] = [];
    scheduler.on("run:error", (event) => errors.push(event));
    clock.advance("1m");
    const report = await scheduler.runPending();
    assert.equal(report.failed, 1);
    assert.equal(errors[0]?.status, "timed-out");
    assert.equal(scheduler.getTask("slow")?.lastStatus, "timed-out");
    assert.ok(aborted);
  });

  it("keeps going when listeners throw or reject, and still calls the other listeners", async () => {
    const { scheduler, clock, logger } = manualScheduler();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      let calls = 0;
      for (const event of ["run:start", "run:success", "task:registered"] as const) {
        scheduler.on(event, () => {
          throw new Error(`listener of ${event}`);
        });
        // An async listener, as users write them: its rejection must be contained too.
        // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the point of the test: a listener returning a rejected promise
        scheduler.on(event, () => Promise.reject(new Error(`async listener of ${event}`)));
        scheduler.on(event, () => void calls++);
      }
      await scheduler.registerTask("t", "* * * * *", noop);
      clock.advance("1m");
      assert.deepEqual(await scheduler.runPending(), {
        ran: 1,
        succeeded: 1,
        failed: 0,
        skipped: 0,
      });
      await turns();
      assert.equal(calls, 3);
      assert.equal(logger.entries.filter((e) => /listener/.test(e.msg ?? "")).length, 6);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("Scheduler: misfires and the manual clock", () => {
  it("run-once (default): one catch-up run for the latest missed time, the rest reported missed", async () => {
    const { scheduler, clock } = manualScheduler();
    const seen: string[] = [];
    const missed: RunMissedEvent[] = [];
    scheduler.on("run:missed", (event) => missed.push(event));
    await scheduler.registerTask(
      "m",
      "* * * * *",
      (ctx) => void seen.push(ctx.scheduledAt.toISOString()),
    );
    clock.advance("1h");
    await scheduler.runPending();
    assert.deepEqual(seen, ["2026-01-01T01:00:00.000Z"]);
    assert.equal(missed[0]?.count, 59);
    assert.equal(missed[0]?.missed[0]?.toISOString(), "2026-01-01T00:01:00.000Z");
    assert.equal(scheduler.getTask("m")?.nextRun?.toISOString(), "2026-01-01T01:01:00.000Z");
  });

  it("skip runs nothing late; run-all runs up to maxCatchUpRuns, oldest first, one after another", async () => {
    const { scheduler, clock } = manualScheduler();
    const seen: string[] = [];
    let concurrent = 0;
    let peak = 0;
    await scheduler.registerTask("skip", "* * * * *", () => void seen.push("skip"), {
      misfire: "skip",
    });
    await scheduler.registerTask(
      "all",
      "* * * * *",
      async (ctx) => {
        concurrent++;
        peak = Math.max(peak, concurrent);
        await Promise.resolve();
        seen.push(ctx.scheduledAt.toISOString().slice(11, 16));
        concurrent--;
      },
      { misfire: "run-all", maxCatchUpRuns: 3 },
    );
    clock.advance("10m");
    clock.advance(5_000);
    await scheduler.runPending();
    assert.deepEqual(seen, ["00:08", "00:09", "00:10"]);
    assert.equal(peak, 1);
  });

  it("plays a year of schedules in order with advanceTo", async () => {
    const { scheduler } = manualScheduler({ timezone: "Europe/Paris" });
    const monthly: string[] = [];
    let hourly = 0;
    await scheduler.registerTask(
      "monthly",
      "0 0 1 * *",
      (ctx) => void monthly.push(ctx.scheduledAt.toISOString()),
    );
    await scheduler.registerTask("hourly", "0 * * * *", () => void hourly++);
    const report = await scheduler.advanceTo("2027-01-01T00:00:00Z");
    assert.equal(monthly.length, 12);
    assert.equal(monthly[0], "2026-01-31T23:00:00.000Z");
    assert.equal(monthly[3], "2026-04-30T22:00:00.000Z");
    assert.equal(hourly, 8760);
    assert.equal(report.succeeded, 8772);
  });

  it("advanceTo needs a manual clock", async () => {
    const scheduler = new Scheduler(new Dispatcher(), { timezone: "UTC", planAhead: PLAN_AHEAD });
    await assert.rejects(scheduler.advanceTo(0), /ManualClock/);
  });

  it("a ManualClock jump is detected by a started scheduler and handled by the misfire policy", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const { scheduler } = manualScheduler({ clock });
    await scheduler.registerTask("m", "* * * * *", noop, { misfire: "skip" });
    await scheduler.start();
    try {
      const jump = new Promise((resolve) => scheduler.once("clock:jump", resolve));
      const missed = new Promise<RunMissedEvent>((resolve) =>
        scheduler.once("run:missed", resolve),
      );
      clock.jump(3_630_000);
      await jump;
      assert.equal((await missed).count, 60);
    } finally {
      await scheduler.stop();
    }
  });
});

describe("Scheduler: disposal", () => {
  it("stops on `await using`", async () => {
    const { scheduler } = manualScheduler();
    {
      await using disposable = scheduler;
      await disposable.start();
      assert.equal(scheduler.running, true);
    }
    assert.equal(scheduler.running, false);
  });
});
