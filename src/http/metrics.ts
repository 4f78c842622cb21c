import type { EventEmitter } from "node:events";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { TaskState } from "../core/task.js";
import type {
  RunErrorEvent,
  RunMissedEvent,
  RunSkippedEvent,
  RunStartEvent,
  RunSuccessEvent,
  SchedulerErrorEvent,
} from "../events.js";
import type { Scheduler } from "../scheduler/index.js";
import { registerHealthMetrics } from "./health-metrics.js";
import { TaskHistogram, TaskStatusCounter } from "./task-metrics.js";
import { DEFAULT_MAX_TASK_SERIES, TaskSeries } from "./task-series.js";
import { InvalidArgumentError } from "../errors.js";

/** Options of {@link createSchedulerMetrics}. */
export interface SchedulerMetricsOptions {
  /**
   * Also collect prom-client's default process metrics (CPU, memory, event loop lag, GC) into this registry.
   * @defaultValue true
   */
  readonly defaultMetrics?: boolean;
  /**
   * The most task names with series of their own in the per-task metrics
   * (runs, durations, lateness, last success): the first ones seen; runs of
   * later tasks are counted under `task="_other"`, and their last success is
   * not exported. Each task name costs a series per metric and status.
   * @defaultValue 1000
   */
  readonly maxTaskSeries?: number;
}

/** A scheduler's Prometheus metrics: its own registry (never prom-client's global one). */
export interface SchedulerMetrics {
  readonly registry: Registry;
  /** The registry in Prometheus text format. */
  render(): Promise<string>;
  /** The content type of {@link render}'s text. */
  readonly contentType: string;
  /** Stops listening to the scheduler's events. */
  dispose(): void;
}

const TASK_STATES: readonly TaskState[] = ["active", "paused", "quarantined", "completed"];

/** Buckets (seconds) of run durations: 1 ms to 1 h. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
/** Buckets (seconds) of fire lateness: 100 µs to 1 min; the target is under 10 ms. */
const LATENESS_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 60,
];

/**
 * Creates the metrics of one scheduler in a fresh Registry and feeds them from
 * its events:
 *
 * - `orchestrator_runs_total{task,status}`: `run:success` (succeeded), `run:error`
 *   (failed, timed-out, cancelled; every attempt), `run:skipped` (skipped), `run:missed` (missed, by count);
 * - `orchestrator_run_duration_seconds{task}`: `durationMs` of `run:success` and `run:error`;
 * - `orchestrator_fire_lateness_seconds{task}`: `startedAt − scheduledAt` of `runs:started`
 *   for scheduled and catch-up runs (manual triggers and retries are not late by design);
 * - `orchestrator_tasks{state}`: `listTasks()` counted at scrape time;
 * - `orchestrator_claims_total{outcome}`: `won` = a first attempt started (`runs:started`,
 *   attempt 1, which follows a successful claim) while the store requires claims
 *   (`store.claimsRequired()`; a MemoryStore with one user does not), `lost` = `run:skipped`
 *   with reason `claimed`;
 * - `orchestrator_lease_losses_total`: a `lease:lost` event, when the scheduler emits one
 *   (it does not yet: the counter stays at 0 until it does);
 * - `orchestrator_scheduler_errors_total{context}`: `scheduler:error`;
 * - each task's last success and the store's health (see {@link registerHealthMetrics});
 * - prom-client's default process metrics, unless `defaultMetrics: false`.
 *
 * Per-task series exist for at most `maxTaskSeries` task names (see {@link TaskSeries}).
 */
export function createSchedulerMetrics(
  scheduler: Scheduler,
  options: SchedulerMetricsOptions = {},
): SchedulerMetrics {
  const maxTaskSeries = options.maxTaskSeries ?? DEFAULT_MAX_TASK_SERIES;
  if (!Number.isSafeInteger(maxTaskSeries) || maxTaskSeries < 0)
    throw new InvalidArgumentError(
      "options.maxTaskSeries",
      "a whole number of 0 or more",
      options.maxTaskSeries,
    );
  const series = new TaskSeries(maxTaskSeries);
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  // Fed by every run: plain maps read at scrape time (task-metrics.ts), not prom-client's
  // Counter and Histogram, which hash their labels on every call.
  const runs = new TaskStatusCounter(
    "orchestrator_runs_total",
    "Runs by task and outcome (every attempt; skipped and missed occurrences included).",
    registry,
  );
  const duration = new TaskHistogram(
    "orchestrator_run_duration_seconds",
    "How long task callbacks ran, in seconds.",
    DURATION_BUCKETS,
    registry,
  );
  const lateness = new TaskHistogram(
    "orchestrator_fire_lateness_seconds",
    "Start time minus scheduled time of scheduled runs, in seconds.",
    LATENESS_BUCKETS,
    registry,
  );
  new Gauge({
    name: "orchestrator_tasks",
    help: "Registered tasks by state.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const counts = new Map<TaskState, number>(TASK_STATES.map((state) => [state, 0]));
      for (const task of scheduler.listTasks()) {
        counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
      }
      for (const [state, count] of counts) this.set({ state }, count);
    },
  });
  // Claims won are counted here and added at scrape time: a run's start is in the path of a burst.
  let startsWon = 0;
  const claims = new Counter({
    name: "orchestrator_claims_total",
    help: "Claims of due runs in the store: won (this node runs it) or lost (another node did).",
    labelNames: ["outcome"] as const,
    registers: [registry],
    collect() {
      this.inc({ outcome: "won" }, startsWon);
      startsWon = 0;
    },
  });
  claims.inc({ outcome: "won" }, 0);
  claims.inc({ outcome: "lost" }, 0);
  const leaseLosses = new Counter({
    name: "orchestrator_lease_losses_total",
    help: "Leases on running runs that this node lost (the run may execute elsewhere).",
    registers: [registry],
  });
  const errors = new Counter({
    name: "orchestrator_scheduler_errors_total",
    help: "Errors outside callbacks (store writes, claims), by context.",
    labelNames: ["context"] as const,
    registers: [registry],
  });

  // A batch's starts together, once its callbacks have all been called: out of their path.
  const onStarted = (events: readonly RunStartEvent[]): void => {
    // A store with one user needs no claims (Store.claimsRequired): runs then start unclaimed.
    const claimed = scheduler.store.claimsRequired?.() ?? true;
    for (const event of events) {
      if (claimed && event.attempt === 1 && event.trigger !== "retry") startsWon++;
      if (event.trigger === "schedule" || event.trigger === "catch-up") {
        const late = (event.startedAt.getTime() - event.scheduledAt.getTime()) / 1000;
        lateness.observe(series.label(event.taskName), Math.max(0, late));
      }
    }
  };
  const onSuccess = (event: RunSuccessEvent): void => {
    const task = series.label(event.taskName);
    runs.add(task, "succeeded");
    duration.observe(task, event.durationMs / 1000);
  };
  const onError = (event: RunErrorEvent): void => {
    const task = series.label(event.taskName);
    runs.add(task, event.status);
    duration.observe(task, event.durationMs / 1000);
  };
  const onSkipped = (event: RunSkippedEvent): void => {
    runs.add(series.label(event.taskName), "skipped");
    if (event.reason === "claimed") claims.inc({ outcome: "lost" });
  };
  const onMissed = (event: RunMissedEvent): void => {
    runs.add(series.label(event.taskName), "missed", event.count);
  };
  const onSchedulerError = (event: SchedulerErrorEvent): void => {
    errors.inc({ context: event.context });
  };
  const onLeaseLost = (): void => {
    leaseLosses.inc();
  };

  scheduler.on("runs:started", onStarted);
  scheduler.on("run:success", onSuccess);
  scheduler.on("run:error", onError);
  scheduler.on("run:skipped", onSkipped);
  scheduler.on("run:missed", onMissed);
  scheduler.on("scheduler:error", onSchedulerError);
  // Not in SchedulerEvents yet; listening costs nothing and lights up once it is emitted.
  const untyped = scheduler as unknown as EventEmitter;
  untyped.on("lease:lost", onLeaseLost);
  const disposeHealth = registerHealthMetrics(registry, scheduler, series);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    dispose() {
      scheduler.off("runs:started", onStarted);
      scheduler.off("run:success", onSuccess);
      scheduler.off("run:error", onError);
      scheduler.off("run:skipped", onSkipped);
      scheduler.off("run:missed", onMissed);
      scheduler.off("scheduler:error", onSchedulerError);
      untyped.off("lease:lost", onLeaseLost);
      disposeHealth();
    },
  };
}
