import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { logRuns } from "../../src/cli/run-logging.js";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger, type Logger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { ManualClock } from "../../src/time/clock.js";

/** A logger that keeps `msg task` (and the fields past `task`) of each line, in order. */
function keptLines(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (obj: Record<string, unknown>, msg?: string): void => {
    const { task, durationMs: _duration, ...rest } = obj;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
    lines.push(`${msg ?? ""} ${String(task)}${extra}`);
  };
  return { logger: { info: keep, warn: keep, error: keep }, lines };
}

describe("logRuns", () => {
  it("logs each run's start once, after the batch's callbacks were called and before the run's end", async () => {
    const clock = new ManualClock("2026-03-01T10:00:59Z");
    const scheduler = new Scheduler(new Dispatcher(), {
      clock,
      timezone: "UTC",
      logger: silentLogger,
    });
    const { logger, lines } = keptLines();
    logRuns(scheduler, logger);
    const linesWhenCalled: number[] = [];
    const callback = (): void => void linesWhenCalled.push(lines.length);
    await scheduler.registerTask("a", "* * * * *", callback);
    await scheduler.registerTask("b", "* * * * *", async () => {
      callback();
      await Promise.resolve();
    });
    try {
      clock.advance("1s");
      await scheduler.runPending();
      // No line was logged in the callbacks' path: both were called before any.
      assert.deepEqual(linesWhenCalled, [0, 0]);
      assert.deepEqual(lines, [
        "run started a",
        "run started b",
        "run succeeded a",
        "run succeeded b",
      ]);
      lines.length = 0;
      await scheduler.triggerTask("a");
      assert.deepEqual(lines, ['run started a {"trigger":"manual"}', "run succeeded a"]);
    } finally {
      await scheduler.stop();
    }
  });
});
