/**
 * Prints the next runs of a few schedules and what they mean:
 *   npm run example
 */
import { parseCron } from "../src/index.js";

const from = new Date();
const schedules: [string, string][] = [
  ["*/15 * * * *", "UTC"],
  ["30 2 * * *", "America/New_York"],
  ["0 9 * * MON-FRI", "Europe/Berlin"],
  ["0 0 L * *", "Asia/Kolkata"],
  ["0 12 * * 5#3", "Australia/Lord_Howe"],
];
for (const [expression, timezone] of schedules) {
  const cron = parseCron(expression, { timezone });
  console.log(`${expression}  (${timezone}): ${cron.describe()}`);
  for (const run of cron.nextRuns(3, from)) {
    const local = run.toLocaleString("sv-SE", { timeZone: timezone });
    console.log(`  ${run.toISOString()}  = ${local} local`);
  }
}
