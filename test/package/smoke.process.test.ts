import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import assert from "node:assert/strict";

// The built package, consumed by name exactly as users do: `import` and `require`.
const root = fileURLToPath(new URL("../../", import.meta.url));
const built = existsSync(new URL("../../dist/index.mjs", import.meta.url));

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" }).trim();
}

const probe = `
  const when = new Date("2024-03-10T05:30:00Z");
  const runs = m.nextRuns("30 2 * * *", { from: when, count: 2, timezone: "America/New_York" });
  console.log(JSON.stringify({
    runs: runs.map((d) => d.toISOString()),
    scheduler: typeof s.Scheduler, dispatcher: typeof d.Dispatcher, cron: typeof c.parseCron,
    error: new m.CronSyntaxError("x", "hour", 0, "x", "r") instanceof m.OrchestratorError,
  }));`;
const expected = {
  runs: ["2024-03-10T07:00:00.000Z", "2024-03-11T06:30:00.000Z"],
  scheduler: "function",
  dispatcher: "function",
  cron: "function",
  error: true,
};

describe(
  "the built package",
  { skip: built ? false : "dist/ is missing: run npm run build" },
  () => {
    it("works with import", () => {
      const code = `
      const m = await import("orchestrator-scheduler"); const s = await import("orchestrator-scheduler/scheduler");
      const d = await import("orchestrator-scheduler/core/dispatcher"); const c = await import("orchestrator-scheduler/cron");
      ${probe}`;
      assert.deepEqual(JSON.parse(run(["--input-type=module", "-e", code])), expected);
    });

    it("works with require", () => {
      const code = `
      const m = require("orchestrator-scheduler"); const s = require("orchestrator-scheduler/scheduler");
      const d = require("orchestrator-scheduler/core/dispatcher"); const c = require("orchestrator-scheduler/cron");
      ${probe}`;
      assert.deepEqual(JSON.parse(run(["--input-type=commonjs", "-e", code])), expected);
    });

    it("exposes the stores as their own entry points, for import and require", () => {
      const esm = run([
        "--input-type=module",
        "-e",
        `const a = await import("orchestrator-scheduler/store/sqlite"); const b = await import("orchestrator-scheduler/store/postgres");
       console.log(typeof a.SqliteStore, typeof b.PostgresStore)`,
      ]);
      const cjs = run([
        "--input-type=commonjs",
        "-e",
        `console.log(typeof require("orchestrator-scheduler/store/sqlite").SqliteStore, typeof require("orchestrator-scheduler/store/postgres").PostgresStore)`,
      ]);
      assert.equal(esm, "function function");
      assert.equal(cjs, "function function");
    });

    it("ships type declarations for both", () => {
      for (const file of [
        "index.d.mts",
        "index.d.cts",
        "scheduler.d.mts",
        "cron/index.d.cts",
        "store/sqlite/index.d.mts",
        "store/postgres/index.d.cts",
      ]) {
        assert.ok(existsSync(new URL(`../../dist/${file}`, import.meta.url)), file);
      }
    });
  },
);
