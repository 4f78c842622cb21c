/**
 * Catch-up benchmark: one `runPending()` after a gap, for 20,000 tasks, each
 * case in its own process (bench/catch-up-worker.ts), cases alternated,
 * medians and spread over rounds. Run alone: `node --import tsx bench/catch-up.ts`
 * (BENCH_ROUNDS, default 3; BENCH_CATCH_UP_TASKS, default 20000).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median, printTable } from "./report.js";

const worker = fileURLToPath(new URL("./catch-up-worker.ts", import.meta.url));
const CASES = ["on-time", "minutely", "mixed", "sqlite", "plan"] as const;
type Result = Record<string, number>;

function runWorker(name: string, tasks: number): Result {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--max-old-space-size=4096", "--import", "tsx", worker, name, String(tasks)],
    { env: { ...process.env, TZ: "UTC" }, encoding: "utf8", timeout: 300_000 },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as Result;
}

/** "median (min–max)" of one measure over the rounds. */
function spread(results: readonly Result[], key: string, digits = 1): string {
  const values = results.map((r) => r[key]!).filter((v) => Number.isFinite(v));
  if (values.length === 0) return "—";
  const text = (v: number) => v.toFixed(digits);
  return values.length === 1
    ? text(values[0]!)
    : `${text(median(values))} (${text(Math.min(...values))}–${text(Math.max(...values))})`;
}

export function runCatchUpBench(rounds: number, tasks = 20_000): void {
  const results: Record<string, Result[]> = {};
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [...CASES] : [...CASES].reverse();
    for (const name of order) {
      (results[name] ??= []).push(runWorker(name, tasks));
      process.stderr.write(`catch-up bench: round ${round + 1}, ${name}: ok\n`);
    }
  }
  const k = `${tasks / 1000}k`;
  const rows: string[][] = [];
  const labels: Record<string, string> = {
    "on-time": `${k} × \`* * * * *\`, one minute later (on time, for comparison)`,
    minutely: `${k} × \`* * * * *\`, one day later`,
    mixed: `${k}, ten expressions in nine zones, one day later`,
    sqlite: `${k} × \`* * * * *\`, one day later, SQLite`,
  };
  for (const name of ["on-time", "minutely", "mixed", "sqlite"]) {
    const r = results[name] ?? [];
    const first = r[0];
    rows.push([
      labels[name]!,
      spread(r, "runPendingMs", 0),
      spread(r, "usPerTask"),
      spread(r, "writtenMs", 0),
      spread(r, "heapGrowthMb", 0),
      first ? String(first.rowsWritten) : "—",
      first ? `${first.missedRows} (${(first.missedCounted ?? 0).toLocaleString("en")})` : "—",
    ]);
  }
  console.log(
    `\n## Catch-up after a gap (${rounds} round${rounds === 1 ? "" : "s"}: median (min–max))\n`,
  );
  printTable(
    [
      "one runPending()",
      "ms",
      "µs per task",
      "rows written, ms",
      "heap growth, MB",
      "history rows",
      "missed rows (occurrences)",
    ],
    rows,
  );
  const plan = results.plan ?? [];
  console.log(
    `\nThe misfire plan alone (\`planDueRuns\`, a day late, run-once): ${spread(plan, "minutelyUsPerTask", 2)} µs per every-minute task,` +
      ` ${spread(plan, "mixedUsPerTask", 2)} µs per task of the mix.` +
      `\nA no-op callback per task (run-once: one catch-up run each); ms is the \`runPending()\` call, which resolves when the runs have finished;` +
      ` *rows written* waits for the history writes it started too. Heap growth: used heap after the call minus before it (collected first).`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runCatchUpBench(
    Number(process.env.BENCH_ROUNDS ?? 3),
    Number(process.env.BENCH_CATCH_UP_TASKS ?? 20_000),
  );
}
