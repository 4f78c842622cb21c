import { defineConfig } from "tsdown";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    scheduler: "src/scheduler/index.ts",
    "core/dispatcher": "src/core/dispatcher.ts",
    // Loaded by URL in worker threads, so no import reaches it: list it.
    "core/worker-entry": "src/core/worker-entry.ts",
    // The thread that checks a schedule file, also loaded by URL.
    "cli/schedule-check-worker": "src/cli/schedule-check-worker.ts",
    "cron/index": "src/cron/index.ts",
    "cli/bin": "src/cli/bin.ts",
    "store/sqlite/index": "src/store/sqlite/index.ts",
    "store/postgres/index": "src/store/postgres/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  shims: true,
  // Mirror src/ in dist/ so that files found by URL at run time (the worker
  // entry, beside the dispatcher) sit where the code expects them.
  unbundle: true,
  sourcemap: false,
});
