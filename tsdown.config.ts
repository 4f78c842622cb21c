import { defineConfig } from "tsdown";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    scheduler: "src/scheduler.ts",
    "core/dispatcher": "src/core/dispatcher.ts",
    "cron/index": "src/cron/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  shims: true,
  sourcemap: false,
});
