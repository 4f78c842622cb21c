import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { RunStartEvent, RunSuccessEvent } from "../../src/events.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SystemClock } from "../../src/time/clock.js";
import { nextEvent } from "../helpers/events.js";
import { recordingLogger } from "../helpers/scheduler.js";
import { PLAN_AHEAD } from "../helpers/plan-ahead.js";

const workerEntry = new URL("../fixtures/ts-worker-boot.mjs", import.meta.url);
const handlers = new URL("../fixtures/handlers.mjs", import.meta.url);

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

describe("Scheduler driven by its timer (real clock)", () => {
  it("start() runs due tasks by itself, never before their time", async () => {
    const clock = new SystemClock();
    const scheduler = new Scheduler(new Dispatcher(), {
      planAhead: PLAN_AHEAD,
      clock,
      logger: silentLogger,
    });
    try {
      const at = new Date(clock.nowMs() + 50);
      let ranAt = 0;
      await scheduler.registerTask("soon", at, () => void (ranAt = clock.nowMs()));
      const success = nextEvent<RunSuccessEvent>(scheduler, "run:success");
      await scheduler.start();
      await success;
      assert.ok(ranAt >= at.getTime());
      assert.equal(scheduler.getTask("soon")?.state, "completed");
    } finally {
      await scheduler.stop();
    }
  });

  for (const order of ["before", "after"] as const) {
    it(`a burst planned ahead (tasks registered ${order} start) runs each task once, at its instant and not before`, async () => {
      const clock = new SystemClock();
      const scheduler = new Scheduler(new Dispatcher(), {
        planAhead: PLAN_AHEAD,
        clock,
        timezone: "UTC",
        logger: silentLogger,
      });
      const count = 500;
      const targetMs = Math.ceil((clock.nowMs() + 400) / 1000) * 1000;
      const at = new Date(targetMs);
      const expression = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
      const calls = Array.from({ length: count }, () => [] as number[]);
      try {
        if (order === "after") await scheduler.start();
        for (let i = 0; i < count; i++)
          await scheduler.registerTask(
            `burst-${i}`,
            expression,
            () => void calls[i]?.push(clock.nowMs()),
          );
        if (order === "before") await scheduler.start();
        while (calls.some((list) => list.length === 0) && clock.nowMs() < targetMs + 5_000)
          await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(
          calls.every((list) => list.length === 1),
          "each task ran exactly once",
        );
        assert.ok(
          calls.every((list) => (list[0] as number) >= targetMs),
          "none ran early",
        );
        const info = scheduler.getTask("burst-0");
        assert.equal(info?.nextRun?.getTime(), targetMs + 86_400_000);
        assert.equal(info?.runCount, 1);
      } finally {
        await scheduler.stop();
      }
    });
  }

  it("uses one timer for the whole scheduler, however many tasks", async () => {
    const scheduler = new Scheduler(new Dispatcher(), {
      planAhead: PLAN_AHEAD,
      logger: silentLogger,
    });
    const before = activeTimeouts();
    await scheduler.start();
    for (let i = 0; i < 1_000; i++)
      await scheduler.registerTask(`t${i}`, `${i % 60} * * * *`, () => {});
    await scheduler.registerTask("every", { every: "1h" }, () => {});
    assert.ok(activeTimeouts() - before <= 1, `${activeTimeouts() - before} timers`);
    await scheduler.stop();
    assert.equal(activeTimeouts(), before);
  });

  it("contains errors of timer-driven runs: logged, emitted, no unhandled rejection", async () => {
    const logger = recordingLogger();
    const scheduler = new Scheduler(new Dispatcher(), { planAhead: PLAN_AHEAD, logger });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await scheduler.registerTask("throws", { every: 20 }, () => {
        throw new Error("boom");
      });
      await scheduler.registerTask("rejects", { every: 20 }, () =>
        Promise.reject(new Error("async boom")),
      );
      const errors = new Set<string>();
      const both = new Promise<void>((resolve) =>
        scheduler.on("run:error", (event) => {
          errors.add(event.taskName);
          if (errors.size === 2) resolve();
        }),
      );
      await scheduler.start();
      await both;
      await scheduler.stop();
      assert.ok(
        logger.entries.some((entry) => entry.level === "error" && entry.obj.taskName === "throws"),
      );
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it(
    "keeps its timing on the main thread while a CPU-bound handler runs in a worker",
    { timeout: 30_000 },
    async () => {
      const dispatcher = new Dispatcher({ workerEntry, maxThreads: 1 });
      const scheduler = new Scheduler(dispatcher, { planAhead: PLAN_AHEAD, logger: silentLogger });
      try {
        await scheduler.registerTask(
          "burn",
          { every: "1h" },
          { module: handlers.href, export: "burn" },
          { payload: { ms: 1_500 } },
        );
        const ticks: RunStartEvent[] = [];
        await scheduler.registerTask("tick", { every: 25 }, () => {});
        scheduler.on("run:start", (event) => {
          if (event.taskName === "tick") ticks.push(event);
        });
        await scheduler.start();
        const burnStarted = nextEvent<RunStartEvent>(
          scheduler,
          "run:start",
          (e) => e.taskName === "burn",
        );
        void scheduler.triggerTask("burn");
        await burnStarted;
        const ticksBefore = ticks.length;
        await nextEvent<RunSuccessEvent>(
          scheduler,
          "run:success",
          (e) => e.taskName === "burn",
          120_000,
        );
        const during = ticks.slice(ticksBefore);
        // Had the burn run on the main thread, no tick could have started while it ran.
        assert.ok(during.length >= 1, `${during.length} ticks during the CPU-bound run`);
        // Each tick ran once for its own scheduled time.
        assert.equal(
          new Set(during.map((event) => event.scheduledAt.getTime())).size,
          during.length,
        );
      } finally {
        await scheduler.stop();
        await dispatcher.close();
      }
    },
  );

  it(
    "runs a module handler on its schedule and records failures from workers",
    { timeout: 30_000 },
    async () => {
      const dispatcher = new Dispatcher({ workerEntry });
      const scheduler = new Scheduler(dispatcher, { planAhead: PLAN_AHEAD, logger: silentLogger });
      try {
        await scheduler.registerTask(
          "fails",
          { every: 30 },
          { module: handlers.href, export: "echo" },
          { payload: { fail: true } },
        );
        await scheduler.start();
        const error = await nextEvent<{ error: unknown; taskName: string }>(
          scheduler,
          "run:error",
          () => true,
          120_000,
        );
        assert.equal(error.taskName, "fails");
        assert.match(String((error.error as Error).message), /failed on purpose/);
      } finally {
        await scheduler.stop();
        await dispatcher.close();
      }
    },
  );

  it("can unref its timer so the process may exit", async () => {
    const scheduler = new Scheduler(new Dispatcher(), {
      planAhead: PLAN_AHEAD,
      logger: silentLogger,
      unref: true,
    });
    await scheduler.registerTask("later", "0 0 1 1 *", () => {});
    const refedBefore = process
      .getActiveResourcesInfo()
      .filter((kind) => kind === "Timeout").length;
    await scheduler.start();
    // An unref'ed timer is not listed among the resources keeping the loop alive.
    assert.equal(
      process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length,
      refedBefore,
    );
    await scheduler.stop();
  });
});
