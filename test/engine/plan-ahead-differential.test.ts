/**
 * Planning ahead changes when phase 1 happens, never what it decides: the
 * same randomized scenario (many tasks due together, overlap policies,
 * retries, maxRuns, slow callbacks that overlap their next run, callbacks
 * that trigger, pause or resume a sibling, pauses, removals and triggers
 * from outside, the clock jumping past instants, on a ManualClock) played
 * with `planAhead: "always"` (each instant planned as soon as the one before
 * it is collected) and with `"off"` must leave the same history and events.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { TaskContext, TaskOptions } from "../../src/core/task.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { ManualClock } from "../../src/time/clock.js";
import { turns } from "../helpers/scheduler.js";

const START = Date.parse("2026-05-04T09:58:30Z");
const EXPRESSIONS = ["* * * * *", "*/2 * * * *", "0 * * * *", "*/5 * * * *", "*/3 * * * *"];
type Behaviour = "ok" | "fail" | "slow" | "trigger-sibling" | "pause-sibling" | "resume-sibling";

interface TaskSpec {
  readonly expression: string;
  readonly behaviour: Behaviour;
  readonly sibling: number;
  readonly overlap: "skip" | "queue" | "allow";
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxRuns: number | undefined;
}

type Action =
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "jump"; readonly ms: number }
  | { readonly kind: "release" }
  | { readonly kind: "pause" | "resume" | "remove" | "trigger"; readonly task: number };

interface Scenario {
  readonly tasks: readonly TaskSpec[];
  readonly actions: readonly Action[];
}

const taskSpec: fc.Arbitrary<TaskSpec> = fc.record({
  expression: fc.constantFrom(...EXPRESSIONS),
  behaviour: fc.constantFrom<Behaviour>(
    "ok",
    "ok",
    "ok",
    "fail",
    "slow",
    "trigger-sibling",
    "pause-sibling",
    "resume-sibling",
  ),
  sibling: fc.nat({ max: 63 }),
  overlap: fc.constantFrom("skip" as const, "queue" as const, "allow" as const),
  retries: fc.integer({ min: 0, max: 2 }),
  backoffMs: fc.constantFrom(0, 20_000, 90_000),
  maxRuns: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
});

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.integer({ min: 1_000, max: 400_000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const) }) },
  // The process slept: the clock moves on without stopping at the instants in between.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("jump" as const),
      ms: fc.integer({ min: 1_000, max: 900_000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        "pause" as const,
        "resume" as const,
        "remove" as const,
        "trigger" as const,
      ),
      task: fc.nat({ max: 63 }),
    }),
  },
);

/**
 * Tasks due at one instant have no order among them (either mode may call
 * them in another order). Two callbacks that pause and resume the same task
 * would make the outcome depend on that order, in either mode alone: each
 * task is paused or resumed by at most one other task's callback.
 */
function oneHandOnEachTask(tasks: readonly TaskSpec[]): TaskSpec[] {
  const touched = new Set<number>();
  return tasks.map((spec, index) => {
    if (spec.behaviour !== "pause-sibling" && spec.behaviour !== "resume-sibling") return spec;
    const target = spec.sibling % tasks.length;
    if (target === index || touched.has(target)) return { ...spec, behaviour: "ok" };
    touched.add(target);
    return spec;
  });
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  tasks: fc.array(taskSpec, { minLength: 1, maxLength: 40 }).map(oneHandOnEachTask),
  actions: fc.array(action, { minLength: 1, maxLength: 25 }),
});

/** Plays `scenario` in `mode`; returns what it observed, in a form independent of timing. */
async function play(scenario: Scenario, mode: "always" | "off"): Promise<string[]> {
  const clock = new ManualClock(START);
  const scheduler = new Scheduler(new Dispatcher(), {
    clock,
    timezone: "UTC",
    logger: silentLogger,
    planAhead: mode,
  });
  const seen: string[] = [];
  const names = scenario.tasks.map((_, i) => `t${i}`);
  const nameOf = (index: number): string => names[index % names.length] as string;
  const at = (date: Date): string => date.toISOString().slice(11, 19);
  scheduler.on(
    "run:start",
    (e) => void seen.push(`start ${e.taskName} ${at(e.scheduledAt)} #${e.attempt} ${e.trigger}`),
  );
  scheduler.on(
    "run:success",
    (e) => void seen.push(`ok ${e.taskName} ${at(e.scheduledAt)} #${e.attempt} ${e.trigger}`),
  );
  scheduler.on(
    "run:error",
    (e) =>
      void seen.push(
        `error ${e.taskName} ${at(e.scheduledAt)} #${e.attempt} ${e.trigger} retry=${e.willRetry}`,
      ),
  );
  scheduler.on(
    "run:skipped",
    (e) => void seen.push(`skipped ${e.taskName} ${at(e.scheduledAt)} ${e.reason}`),
  );
  scheduler.on("run:missed", (e) => void seen.push(`missed ${e.taskName} ${e.count}`));
  scheduler.on("task:completed", (e) => void seen.push(`completed ${e.name}`));
  const slow: (() => void)[] = [];
  const ignore = (): void => {};
  // Callbacks that trigger each other (overlap "allow") would never stop: a budget ends the chain.
  let triggersLeft = 20;
  scenario.tasks.forEach((spec, index) => {
    const sibling = nameOf(spec.sibling);
    const callback = (_ctx: TaskContext): unknown => {
      switch (spec.behaviour) {
        case "fail":
          throw new Error("boom");
        case "slow":
          return new Promise<void>((resolve) => slow.push(resolve));
        case "trigger-sibling":
          if (scheduler.getTask(sibling) !== undefined && triggersLeft-- > 0)
            scheduler.triggerTask(sibling).catch(ignore);
          return undefined;
        case "pause-sibling":
          if (scheduler.getTask(sibling) !== undefined) scheduler.pauseTask(sibling).catch(ignore);
          return undefined;
        case "resume-sibling":
          if (scheduler.getTask(sibling) !== undefined) scheduler.resumeTask(sibling).catch(ignore);
          return undefined;
        default:
          return undefined;
      }
    };
    const options: TaskOptions = {
      overlap: spec.overlap,
      retries: { attempts: spec.retries, backoffMs: spec.backoffMs },
      ...(spec.maxRuns === undefined ? {} : { maxRuns: spec.maxRuns }),
    };
    void scheduler.registerTask(names[index] as string, spec.expression, callback, options);
  });
  const pending: Promise<unknown>[] = [];
  /** Moves the clock to each instant something falls due by `targetMs`, collecting at each. */
  const advance = async (targetMs: number): Promise<void> => {
    for (;;) {
      const next = scheduler.listTasks().reduce<number | null>((min, task) => {
        const ms = task.nextRun?.getTime() ?? null;
        return ms !== null && (min === null || ms < min) ? ms : min;
      }, null);
      const step = next !== null && next <= targetMs ? Math.max(next, clock.nowMs()) : targetMs;
      clock.set(step);
      pending.push(scheduler.runPending());
      await turns(3);
      if (step >= targetMs) return;
    }
  };
  for (const act of scenario.actions) {
    if (act.kind === "advance") await advance(clock.nowMs() + act.ms);
    else if (act.kind === "jump") {
      clock.set(clock.nowMs() + act.ms);
      pending.push(scheduler.runPending());
    } else if (act.kind === "release") for (const resolve of slow.splice(0)) resolve();
    else {
      const name = nameOf(act.task);
      if (scheduler.getTask(name) === undefined) continue;
      if (act.kind === "pause") await scheduler.pauseTask(name);
      else if (act.kind === "resume") await scheduler.resumeTask(name);
      else if (act.kind === "remove") await scheduler.unregisterTask(name);
      else pending.push(scheduler.triggerTask(name));
    }
    await turns(3);
  }
  // Let everything end: release the slow ones (runs queued behind them may be slow too),
  // run the retries still due, then stop.
  const releaseAll = async (): Promise<void> => {
    for (let round = 0; round < 20 && slow.length > 0; round++) {
      for (const resolve of slow.splice(0)) resolve();
      await turns(5);
    }
  };
  await releaseAll();
  await advance(clock.nowMs() + 10 * 60_000);
  await releaseAll();
  let stopped = false;
  const stopping = scheduler.stop().then(() => void (stopped = true));
  while (!stopped) await releaseAll().then(() => turns(2));
  await stopping;
  await Promise.allSettled(pending);
  const rows = await scheduler.history(undefined, { limit: 100_000 });
  for (const row of rows) {
    seen.push(
      `row ${row.taskName} ${new Date(row.scheduledAt).toISOString().slice(11, 19)} #${row.attempt} ${row.status} ${row.error?.message ?? ""}`,
    );
  }
  for (const task of scheduler.listTasks()) {
    seen.push(
      `task ${task.name} ${task.state} runs=${task.runCount} last=${task.lastStatus} next=${task.nextRun?.toISOString() ?? "-"}`,
    );
  }
  return seen.sort();
}

describe("planning ahead (differential)", () => {
  it("leaves the same history and events as phase 1 at the instant, for random scenarios", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const planned = await play(s, "always");
        const direct = await play(s, "off");
        assert.deepEqual(planned, direct);
      }),
      { numRuns: Number(process.env.DIFF_RUNS ?? 60) },
    );
  });
});
