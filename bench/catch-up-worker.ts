/**
 * One catch-up case in its own process; prints one JSON line.
 *   node --expose-gc --import tsx bench/catch-up-worker.ts <case> <tasks>
 * A Scheduler on a ManualClock at 2026-03-28T12:00:00Z (UTC; the day ahead
 * holds Berlin's and London's spring-forward), <tasks> tasks with a no-op
 * callback, the clock moved on, then one `runPending()`, timed:
 * - `on-time`: every-minute tasks, one minute later (one run each, nothing
 *   missed: the cost of the runs themselves, for comparison);
 * - `minutely`: every-minute tasks, one day later (1,440 due each: one
 *   catch-up run and one `missed` row for the other 1,439);
 * - `mixed`: ten cron expressions in nine zones, one day later;
 * - `sqlite`: `minutely` on a SQLite store (a temp file, test mode);
 * - `plan`: `planDueRuns` alone for the tasks of `minutely` and `mixed`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dispatcher } from "../src/core/dispatcher.js";
import { planDueRuns } from "../src/core/misfire.js";
import { CronCache, type Schedule } from "../src/core/schedule.js";
import { silentLogger } from "../src/logger.js";
import { Scheduler } from "../src/scheduler/index.js";
import { MemoryStore } from "../src/store/memory-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import { ManualClock } from "../src/time/clock.js";

const START = "2026-03-28T12:00:00Z";
const DAY_MS = 86_400_000;

/** Expression and zone of the `mixed` case; task i takes entry i % 10. Each is due within a day. */
export const MIXED: readonly (readonly [string, string])[] = [
  ["* * * * *", "UTC"],
  ["*/5 * * * *", "Europe/Berlin"],
  ["0 * * * *", "America/New_York"],
  ["30 2 * * *", "Europe/London"],
  ["*/15 9-17 * * *", "Asia/Tokyo"],
  ["0,30 * * * *", "Australia/Lord_Howe"],
  ["15 */2 * * *", "Pacific/Chatham"],
  ["*/10 * * * * *", "UTC"],
  ["0 0 * * *", "America/Sao_Paulo"],
  ["0 */6 * * *", "Asia/Kolkata"],
];

const [caseName = "minutely", tasksText = "20000"] = process.argv.slice(2);
const tasks = Number(tasksText);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** The store, wrapped to wait for the history writes in flight. */
function tracking(store: Store): { store: Store; settled: () => Promise<void> } {
  const inFlight: Promise<unknown>[] = [];
  const track = <T>(written: Promise<T>): Promise<T> => {
    inFlight.push(written);
    return written;
  };
  const settleSlots = store.settleSlots.bind(store);
  const finishRun = store.finishRun.bind(store);
  const recordRun = store.recordRun.bind(store);
  store.settleSlots = (records) => track(settleSlots(records));
  store.finishRun = (record, claim, options) => track(finishRun(record, claim, options));
  store.recordRun = (record) => track(recordRun(record));
  return { store, settled: async () => void (await Promise.all(inFlight)) };
}

async function scheduler(): Promise<Record<string, number>> {
  const dir = caseName === "sqlite" ? mkdtempSync(join(tmpdir(), "orchestrator-catch-up-")) : "";
  const base: Store =
    caseName === "sqlite"
      ? new SqliteStore({ path: join(dir, "catch-up.db") })
      : new MemoryStore({ maxHistoryRows: 4 * tasks });
  const { store, settled } = tracking(base);
  const history = () => base.history({ limit: 8 * tasks });
  const clock = new ManualClock(START);
  const s = new Scheduler(new Dispatcher(), {
    clock,
    store,
    timezone: "UTC",
    logger: silentLogger,
    testMode: true,
  });
  s.defineHandler("noop", () => {});
  const registrations: Promise<unknown>[] = [];
  for (let i = 0; i < tasks; i++) {
    const [expression, timezone] =
      caseName === "mixed" ? MIXED[i % MIXED.length]! : (["* * * * *", "UTC"] as const);
    registrations.push(s.registerTask(`task-${i}`, expression, "noop", { timezone }));
  }
  await Promise.all(registrations);
  await s.runPending();
  await settled();
  const rowsBefore = (await history()).length;
  clock.advance(caseName === "on-time" ? 60_000 : DAY_MS);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const report = await s.runPending();
  const runPendingMs = performance.now() - t0;
  const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  await settled();
  const writtenMs = performance.now() - t0;
  const rows = await history();
  const missed = rows.filter((r) => r.status === "missed");
  await s.stop();
  await base.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  return {
    runPendingMs,
    usPerTask: (runPendingMs * 1000) / tasks,
    writtenMs,
    heapGrowthMb,
    ran: report.ran,
    rowsWritten: rows.length - rowsBefore,
    missedRows: missed.length,
    missedCounted: missed.reduce((sum, r) => sum + (r.missedCount ?? 1), 0),
  };
}

/** planDueRuns alone, for every-minute tasks and the mixed ones, a day late. */
function plan(): Record<string, number> {
  const cache = new CronCache();
  const firstMs = Date.parse(START) + 60_000;
  const nowMs = firstMs + DAY_MS;
  const result: Record<string, number> = {};
  for (const [label, list] of [
    ["minutely", [["* * * * *", "UTC"]]],
    ["mixed", MIXED],
  ] as const) {
    const schedules: Schedule[] = list.map(([expression, timezone]) =>
      cache.get(expression, { timezone }),
    );
    let missed = 0;
    const input = (i: number) => {
      const schedule = schedules[i % schedules.length]!;
      return {
        firstDueMs: schedule.next(firstMs - 1)!,
        nowMs,
        policy: "run-once" as const,
        graceMs: 1000,
        maxCatchUpRuns: 100,
        endMs: Number.POSITIVE_INFINITY,
        schedule,
      };
    };
    // A warm-up pass, then the measured one.
    for (let i = 0; i < tasks; i++) missed += planDueRuns(input(i)).missedCount;
    const t0 = performance.now();
    for (let i = 0; i < tasks; i++) missed += planDueRuns(input(i)).missedCount;
    result[`${label}UsPerTask`] = ((performance.now() - t0) * 1000) / tasks;
    result[`${label}Missed`] = missed / 2;
  }
  return result;
}

const result = caseName === "plan" ? plan() : await scheduler();
process.stdout.write(JSON.stringify({ case: caseName, tasks, ...result }) + "\n");
process.exit(0);
