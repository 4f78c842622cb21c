/**
 * Fire lateness with many durable tasks due in the same second (the
 * target: 10,000 tasks, p99 under 50 ms): a real Scheduler on the real clock,
 * its timer loop, and each store. Lateness = callback start − scheduled time.
 * Run alone: `node --import tsx bench/store-lateness.ts` (BENCH_TASKS, BENCH_ROUNDS).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Dispatcher } from "../src/core/dispatcher.js";
import { Scheduler } from "../src/scheduler/index.js";
import { MemoryStore } from "../src/store/memory-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import { median, printRaw, printTable } from "./report.js";

interface Lateness {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** One round: `tasks` tasks due at one instant; resolves with the lateness percentiles. */
async function measure(store: Store, tasks: number): Promise<Lateness> {
  const lateness: number[] = [];
  let allRan: () => void = () => {};
  const done = new Promise<void>((resolve) => (allRan = resolve));
  const scheduler = new Scheduler(new Dispatcher(), { store, testMode: true });
  scheduler.defineHandler("tick", (ctx) => {
    lateness.push(Date.now() - ctx.scheduledAt.getTime());
    if (lateness.length === tasks) allRan();
  });
  await scheduler.start();
  // Far enough ahead that registering every task ends before it (10k SQLite puts take ~0.3 s).
  const dueAt = new Date(Math.ceil((Date.now() + 2000 + tasks / 5) / 1000) * 1000);
  await Promise.all(
    Array.from({ length: tasks }, (_, i) => scheduler.registerTask(`task-${i}`, dueAt, "tick")),
  );
  await done;
  await scheduler.stop();
  lateness.sort((a, b) => a - b);
  return {
    p50: percentile(lateness, 50),
    p99: percentile(lateness, 99),
    max: lateness.at(-1) ?? NaN,
  };
}

/** Runs the lateness benchmark for the memory and SQLite stores and prints one table. */
export async function runStoreLatenessBench(rounds: number, tasks = 10_000): Promise<void> {
  const rows: string[][] = [];
  for (const kind of ["memory", "sqlite"] as const) {
    const samples: Lateness[] = [];
    for (let round = 0; round < rounds; round++) {
      const dir = mkdtempSync(join(tmpdir(), "orchestrator-lateness-"));
      const store =
        kind === "memory" ? new MemoryStore() : new SqliteStore({ path: join(dir, "lateness.db") });
      try {
        samples.push(await measure(store, tasks));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    printRaw(`store-lateness ${kind}`, samples);
    const ms = (pick: (l: Lateness) => number) => `${median(samples.map(pick)).toFixed(1)} ms`;
    rows.push([kind, ms((l) => l.p50), ms((l) => l.p99), ms((l) => l.max)]);
  }
  console.log(
    `\nFire lateness: ${tasks} tasks due in the same second, real clock, median of ${rounds} round(s)`,
  );
  printTable(["store", "p50", "p99", "max"], rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runStoreLatenessBench(
    Number(process.env.BENCH_ROUNDS ?? 3),
    Number(process.env.BENCH_TASKS ?? 10_000),
  );
}
