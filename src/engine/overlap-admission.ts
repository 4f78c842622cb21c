import { decideOverlap } from "../core/overlap.js";
import type { QueuedRun, Task } from "../core/task.js";
import type { RunTrigger } from "../events.js";
import type { Run, RunReport } from "./run.js";
import type { RunLifecycle } from "./run-lifecycle.js";

/**
 * Phase 1's overlap rule: applies the overlap policy to due occurrences of
 * one task (oldest first; all but the first always queue behind it) and
 * appends the runs to start now to `planned`. Each change goes through
 * `life` (skip, admit, enqueue). Called by `RunEngine` (run-engine.ts) only.
 */
export function admitOverlapping(
  life: RunLifecycle,
  task: Task,
  runs: readonly number[],
  trigger: RunTrigger & QueuedRun["trigger"],
  report: RunReport,
  planned: Run[],
): void {
  if (runs.length === 0) return;
  const decision = decideOverlap(task.options.overlap, task.running, task.queue?.length ?? 0);
  if (decision === "skip") {
    for (const scheduledAtMs of runs) life.skip(task, scheduledAtMs, report, "overlap");
    return;
  }
  for (let index = 0; index < runs.length; index++) {
    const scheduledAtMs = runs[index] as number;
    if (decision === "run" && index === 0) {
      planned.push(life.admit(task, scheduledAtMs, trigger, report));
    } else {
      // Nobody waits for a queued run: the caller may be the very callback it waits behind.
      life.enqueue(task, scheduledAtMs, trigger);
    }
  }
}
