/**
 * Dashboard benchmark: the task list in Chromium (Debian's, driven by
 * playwright-core) with 200 and with 10,000 tasks, medians and spread over
 * rounds: the page opened until its first rows show, a search until its one
 * matching row shows (after the list's 200 ms typing pause, counted), and the
 * next page. Run alone: `node --import tsx bench/dashboard.ts`.
 */
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Dispatcher } from "../src/core/dispatcher.js";
import { startHttpServer } from "../src/http/server.js";
import { silentLogger } from "../src/logger.js";
import { Scheduler } from "../src/scheduler/index.js";
import { CHROMIUM, logIn, openBrowser } from "../test/helpers/browser.js";
import { formatRatio, median, printTable } from "./report.js";

const TOKEN = "dashboard-bench-token-000000000000";
type Result = { openMs: number; searchMs: number; nextPageMs: number };

async function measure(tasks: number): Promise<Result> {
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, { timezone: "UTC", logger: silentLogger });
  for (let i = 0; i < tasks; i++) {
    await scheduler.registerTask(`task-${String(i).padStart(5, "0")}`, "0 3 * * *", () => {});
  }
  const server = await startHttpServer({ scheduler, port: 0, token: TOKEN });
  const { browser, page } = await openBrowser();
  try {
    await logIn(page, server.url, TOKEN);
    const rows = page.locator("#tasks tbody tr");
    await page.goto("about:blank");
    let start = performance.now();
    await page.goto(`${server.url}/`);
    await rows.first().waitFor();
    const openMs = performance.now() - start;

    start = performance.now();
    await page.getByLabel("Search").fill(`task-${String(tasks - 1).padStart(5, "0")}`);
    await rows.nth(1).waitFor({ state: "detached" });
    const searchMs = performance.now() - start;

    await page.getByLabel("Search").fill("");
    await rows.nth(1).waitFor();
    start = performance.now();
    await page.locator("#page-next").click();
    await page.locator("#tasks-caption", { hasText: "101–" }).waitFor();
    const nextPageMs = performance.now() - start;
    return { openMs, searchMs, nextPageMs };
  } finally {
    await browser.close();
    await server.close();
    await scheduler.stop();
    await dispatcher.close();
  }
}

function spread(values: readonly number[]): string {
  const text = (v: number) => v.toFixed(0);
  return values.length === 1
    ? text(values[0]!)
    : `${text(median(values))} (${text(Math.min(...values))}–${text(Math.max(...values))})`;
}

export async function runDashboardBench(rounds: number): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`\n## Dashboard task list\n\nskipped: ${CHROMIUM} is missing`);
    return;
  }
  const sizes = [200, 10_000];
  const results = new Map<number, Result[]>(sizes.map((size) => [size, []]));
  for (let round = 0; round < rounds; round++) {
    for (const size of round % 2 === 0 ? sizes : [...sizes].reverse()) {
      results.get(size)!.push(await measure(size));
      process.stderr.write(`dashboard bench: round ${round + 1}, ${size} tasks: ok\n`);
    }
  }
  console.log("\n## Dashboard task list (Chromium, ms: median (min–max))\n");
  const keys = ["openMs", "searchMs", "nextPageMs"] as const;
  const rows = sizes.map((size) => [
    `${size.toLocaleString("en")} tasks`,
    ...keys.map((key) => spread(results.get(size)!.map((r) => r[key]))),
  ]);
  rows.push([
    "10,000 / 200",
    ...keys.map((key) =>
      formatRatio(
        median(results.get(10_000)!.map((r) => r[key])),
        median(results.get(200)!.map((r) => r[key])),
      ),
    ),
  ]);
  printTable(
    ["list", "open → first rows", "search → 1 row (incl. 200 ms pause)", "next page"],
    rows,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runDashboardBench(Number(process.env.BENCH_ROUNDS ?? 3));
}
