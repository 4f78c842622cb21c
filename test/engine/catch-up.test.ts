import assert from "node:assert/strict";
import { afterEach, describe, it, mock } from "node:test";
import { CronExpression, parseCron } from "../../src/cron/index.js";
import type { MisfirePolicy } from "../../src/core/misfire.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { manualScheduler, turns } from "../helpers/scheduler.js";

/**
 * Catch-up after a gap costs O(tasks), not O(missed occurrences): each task
 * gets one `missed` row whose count is what walking `next()` finds, and the
 * engine asks its cron schedule the same few questions whatever the gap.
 */

const DAY_MS = 86_400_000;

interface CatchUpTask {
  readonly name: string;
  readonly expression: string;
  readonly timezone: string;
  readonly misfire: MisfirePolicy;
}

/** Offset changes within 45 days of 2026-03-01: New York 03-08, Berlin 03-29, Lord Howe 04-05. */
const TASKS: readonly CatchUpTask[] = [
  { name: "minutely", expression: "* * * * *", timezone: "UTC", misfire: "run-once" },
  { name: "ny-5min", expression: "*/5 * * * *", timezone: "America/New_York", misfire: "skip" },
  { name: "ny-0230", expression: "30 2 * * *", timezone: "America/New_York", misfire: "run-all" },
  {
    name: "lh-halves",
    expression: "0,30 1-3 * * *",
    timezone: "Australia/Lord_Howe",
    misfire: "run-once",
  },
  { name: "berlin-30s", expression: "*/30 * * * * *", timezone: "Europe/Berlin", misfire: "skip" },
  { name: "last-day", expression: "0 0 L * *", timezone: "Pacific/Chatham", misfire: "run-all" },
];
const MAX_CATCH_UP_RUNS = 3;

/** The cron questions one collection asks, counted on every CronExpression. */
const QUESTIONS = ["next", "prev", "nextMs", "prevMs", "countBetweenMs", "listBetweenMs"] as const;

/** The due occurrences from `firstMs` through `nowMs`, walked with next(). */
function walk(task: CatchUpTask, firstMs: number, nowMs: number): number[] {
  const cron = parseCron(task.expression, { timezone: task.timezone });
  const due: number[] = [];
  for (let t = firstMs; !Number.isNaN(t) && t <= nowMs; t = cron.nextMs(t)) due.push(t);
  return due;
}

async function catchUp(days: number): Promise<{ questions: number; checked: number }> {
  const store = new MemoryStore();
  const { scheduler, clock } = manualScheduler({ store });
  clock.set("2026-03-01T00:00:30Z");
  for (const task of TASKS) {
    await scheduler.registerTask(task.name, task.expression, () => {}, {
      timezone: task.timezone,
      misfire: task.misfire,
      maxCatchUpRuns: MAX_CATCH_UP_RUNS,
    });
  }
  const first = new Map(TASKS.map((t) => [t.name, scheduler.getTask(t.name)!.nextRun!.getTime()]));
  clock.advance(days * DAY_MS);
  const nowMs = clock.nowMs();
  const mocks = QUESTIONS.map((name) => mock.method(CronExpression.prototype, name));
  await scheduler.runPending();
  const questions = mocks.reduce((sum, m) => sum + m.mock.callCount(), 0);
  mock.restoreAll();
  await turns();
  const rows = await store.history({ limit: 10_000 });
  let checked = 0;
  for (const task of TASKS) {
    const due = walk(task, first.get(task.name)!, nowMs);
    const latest = due[due.length - 1]!;
    const runs =
      task.misfire === "run-all"
        ? Math.min(MAX_CATCH_UP_RUNS, due.length)
        : task.misfire === "run-once" || nowMs - latest <= 1000
          ? 1
          : 0;
    const missed = due.slice(0, due.length - runs);
    const label = `${task.name} after ${days} days (${due.length} due)`;
    const missedRows = rows.filter((r) => r.taskName === task.name && r.status === "missed");
    assert.equal(missedRows.length, missed.length === 0 ? 0 : 1, `${label}: one missed row`);
    const row = missedRows[0];
    if (row !== undefined) {
      // A row for one occurrence leaves out the count and the end of the range.
      const single = missed.length === 1;
      assert.equal(row.scheduledAt, missed[0], `${label}: the first missed`);
      assert.equal(row.missedCount, single ? undefined : missed.length, `${label}: the count`);
      assert.equal(
        row.missedThrough,
        single ? undefined : missed[missed.length - 1],
        `${label}: the last missed`,
      );
    }
    const ran = rows.filter((r) => r.taskName === task.name && r.status === "succeeded");
    assert.deepEqual(
      ran.map((r) => r.scheduledAt).sort((a, b) => a - b),
      due.slice(due.length - runs),
      `${label}: the catch-up runs`,
    );
    checked++;
  }
  await scheduler.stop();
  return { questions, checked };
}

describe("catch-up after a gap: one exact missed row per task, a bounded number of questions", () => {
  afterEach(() => mock.restoreAll());

  it("after 1, 7, 45 and 400 days, with a few questions per task whatever the gap", async () => {
    // Per task: the following occurrence, the count, the latest, the one after it, the
    // list of missed, the last missed; and the runs of run-all, walked back.
    const runAll = TASKS.filter((t) => t.misfire === "run-all").length;
    const bound = 6 * TASKS.length + MAX_CATCH_UP_RUNS * runAll;
    for (const days of [1, 7, 45, 400]) {
      const { questions, checked } = await catchUp(days);
      assert.equal(checked, TASKS.length);
      assert.ok(questions <= bound, `${questions} questions after ${days} days, over ${bound}`);
    }
  });
});
