import { Gauge, type Registry } from "prom-client";
import type { RunSuccessEvent } from "../events.js";
import type { Scheduler } from "../scheduler/index.js";
import { OTHER_TASKS, type TaskSeries } from "./task-series.js";

/**
 * The metrics that tell silence from health, for alert rules: each task's
 * last success and whether the store works. Returns a function that stops
 * listening to the scheduler.
 *
 * - `orchestrator_task_last_success_timestamp_seconds{task}`: when the last
 *   successful run of each registered task started (unix seconds). Fed by
 *   `run:success` on this node and, for a task whose last run succeeded as
 *   read from the store when it was loaded, by its `lastRun` (a restart keeps
 *   it); tasks with no success known have no series, nor tasks past the
 *   metrics' `maxTaskSeries`. Removed tasks lose theirs.
 * - `orchestrator_store_up`: 1 while the store is usable (see
 *   `Scheduler.storeStatus`), 0 from a failed claim or finishing write until
 *   one succeeds again.
 * - `orchestrator_store_last_check_timestamp_seconds`: when a claim, a finishing
 *   write or a reconnection probe last got an answer from the store (success or
 *   failure); 0 before the first.
 */
export function registerHealthMetrics(
  registry: Registry,
  scheduler: Scheduler,
  series: TaskSeries,
): () => void {
  /** Start (epoch ms) of the last success seen here, by task. */
  const seen = new Map<string, number>();
  new Gauge({
    name: "orchestrator_task_last_success_timestamp_seconds",
    help: "Start time of each task's last successful run, in unix seconds (no series before a first success).",
    labelNames: ["task"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const task of scheduler.listTasks()) {
        const known = seen.get(task.name) ?? Number.NEGATIVE_INFINITY;
        const stored =
          task.lastStatus === "succeeded" && task.lastRun !== null
            ? task.lastRun.getTime()
            : Number.NEGATIVE_INFINITY;
        const lastMs = Math.max(known, stored);
        if (!Number.isFinite(lastMs)) continue;
        // A task past the limit of per-task series has none (a shared one would mean nothing).
        const label = series.label(task.name);
        if (label !== OTHER_TASKS) this.set({ task: label }, lastMs / 1000);
      }
      // Forget tasks that are gone, so that a removed task's last success is not kept forever.
      for (const name of seen.keys()) if (scheduler.getTask(name) === undefined) seen.delete(name);
    },
  });
  new Gauge({
    name: "orchestrator_store_up",
    help: "1 while the store is usable (claims and the writes that finish runs succeed), else 0.",
    registers: [registry],
    collect() {
      this.set(scheduler.storeStatus.usable ? 1 : 0);
    },
  });
  new Gauge({
    name: "orchestrator_store_last_check_timestamp_seconds",
    help: "When a claim, finishing write or probe last got an answer from the store (success or failure), in unix seconds.",
    registers: [registry],
    collect() {
      this.set((scheduler.storeStatus.checkedAtMs ?? 0) / 1000);
    },
  });

  const onSuccess = (event: RunSuccessEvent): void => {
    // A task without a series of its own is never reported: nothing to keep.
    if (series.label(event.taskName) === OTHER_TASKS) return;
    const startedMs = scheduler.clock.nowMs() - event.durationMs;
    seen.set(event.taskName, Math.max(seen.get(event.taskName) ?? startedMs, startedMs));
  };
  scheduler.on("run:success", onSuccess);
  return () => {
    scheduler.off("run:success", onSuccess);
  };
}
