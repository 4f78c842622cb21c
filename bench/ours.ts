/**
 * orchestrator's modules as the benchmarks measure them: the build in dist/
 * (what users run; `npm run bench` builds first), or the TypeScript sources
 * with BENCH_SOURCE=src. Measured through tsx, the sources run slower than the
 * build: tsx compiles with esbuild's keepNames, which adds a function call to
 * every closure made (a burst of 300,000 runs: the next burst 3.4 s late
 * instead of 1.4 s).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as source from "./ours-source.js";

type Source = typeof source;

const fromSource = process.env.BENCH_SOURCE === "src";

async function load(): Promise<Source> {
  if (fromSource) return import("./ours-source.js");
  const built = (path: string): string =>
    fileURLToPath(new URL(`../dist/${path}`, import.meta.url));
  if (!existsSync(built("scheduler.mjs")))
    throw new Error("dist/ is missing: run `npm run build` first (or set BENCH_SOURCE=src)");
  const [scheduler, dispatcher, logger, cron, consoleLogger, runLogging, eventStream, metrics] =
    await Promise.all(
      [
        "scheduler.mjs",
        "core/dispatcher.mjs",
        "logger.mjs",
        "cron/index.mjs",
        "cli/console-logger.mjs",
        "cli/run-logging.mjs",
        "http/event-stream.mjs",
        "http/metrics.mjs",
      ].map((path) => import(built(path)) as Promise<Record<string, unknown>>),
    );
  return {
    ...scheduler,
    ...dispatcher,
    ...logger,
    ...cron,
    ...consoleLogger,
    ...runLogging,
    ...eventStream,
    ...metrics,
  } as unknown as Source;
}

/** What the benchmarks use of orchestrator, from dist/ unless BENCH_SOURCE=src. */
export const ours: Source = await load();
/** Where {@link ours} came from, for the report. */
export const oursFrom = fromSource ? "src (tsx)" : "dist";
