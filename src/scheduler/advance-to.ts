import { InvalidArgumentError } from "../errors.js";
import type { RunEngine } from "../engine/run-engine.js";
import { emptyReport, type RunReport } from "../engine/run.js";
import { toInstantMs, type Clock } from "../time/clock.js";

/** What {@link advanceClockTo} needs from its Scheduler. */
export interface AdvanceToHost {
  readonly clock: Clock;
  readonly engine: Pick<RunEngine, "nextDueMs">;
  /** The `runPending()` calls in progress (the timer's among them). */
  readonly pendingCalls: ReadonlySet<Promise<RunReport>>;
  runPending(): Promise<RunReport>;
}

/**
 * `Scheduler.advanceTo`: moves a manual clock forward to `target`, stopping
 * at every instant something falls due and running it, in order; resolves
 * with the summed report.
 */
export async function advanceClockTo(
  host: AdvanceToHost,
  target: Date | number | string,
): Promise<RunReport> {
  const clock = host.clock as Clock & { set?: (to: Date | number) => Date };
  if (typeof clock.set !== "function") {
    throw new InvalidArgumentError(
      "clock",
      "a ManualClock (advanceTo needs a clock it can set)",
      host.clock,
    );
  }
  const targetMs = toInstantMs("target", target);
  const total = emptyReport();
  const add = (report: RunReport): void => {
    total.ran += report.ran;
    total.succeeded += report.succeeded;
    total.failed += report.failed;
    total.skipped += report.skipped;
  };
  add(await host.runPending());
  for (;;) {
    const dueMs = host.engine.nextDueMs();
    if (dueMs === null || dueMs > targetMs) break;
    await settle(host.pendingCalls);
    if (dueMs > clock.nowMs()) clock.set(dueMs);
    add(await host.runPending());
  }
  await settle(host.pendingCalls);
  if (targetMs > clock.nowMs()) clock.set(targetMs);
  add(await host.runPending());
  return total;
}

/** Waits for `runPending()` calls in progress (the timer's), so that time moves only between runs. */
async function settle(pendingCalls: ReadonlySet<Promise<RunReport>>): Promise<void> {
  while (pendingCalls.size > 0) await Promise.allSettled([...pendingCalls]);
}
