import type { TaskInfo } from "../core/task.js";
import { parseCron } from "../cron/index.js";
import type { Scheduler } from "../scheduler/index.js";
import type { RunRecord } from "../store/store.js";

/** A task as the JSON API shows it. The payload is left out: it may hold secrets (it is what gets sealed at rest). */
export interface TaskView {
  readonly name: string;
  readonly kind: TaskInfo["kind"];
  readonly schedule: string;
  /** The schedule in plain English ("At 02:30, Monday through Friday"). */
  readonly description: string;
  readonly timezone: string | null;
  readonly state: TaskInfo["state"];
  readonly running: boolean;
  /** ISO 8601 instants, or null. */
  readonly nextRun: string | null;
  readonly lastRun: string | null;
  readonly lastStatus: TaskInfo["lastStatus"];
  readonly runCount: number;
  readonly overlap: TaskInfo["overlap"];
  readonly misfire: TaskInfo["misfire"];
  /** Durations (ms) of the latest finished runs, oldest first (for a sparkline). */
  readonly recentDurationsMs: readonly number[];
}

/** One history row as the JSON API shows it (instants as ISO 8601). */
export interface RunView {
  readonly taskName: string;
  readonly scheduledAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly status: RunRecord["status"];
  readonly attempt: number;
  readonly nodeId: string;
  readonly error: RunRecord["error"];
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Formats a millisecond interval as the shortest exact unit ("90s", "5m", "1h"). */
function formatInterval(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * The schedule of a task in words: the cron engine's `describe()` for cron
 * tasks, "Every 5m" for intervals, "Once at <ISO>" for one-time tasks.
 * Unparseable text (which registration would have refused) is shown as is.
 */
export function describeTask(task: Pick<TaskInfo, "kind" | "schedule" | "timezone">): string {
  try {
    if (task.kind === "cron") {
      return parseCron(
        task.schedule,
        task.timezone === null ? {} : { timezone: task.timezone },
      ).describe();
    }
    if (task.kind === "interval") {
      const ms = /^every (\d+)ms$/.exec(task.schedule)?.[1];
      return ms === undefined ? task.schedule : `Every ${formatInterval(Number(ms))}`;
    }
    return `Once at ${task.schedule}`;
  } catch {
    return task.schedule;
  }
}

/** Converts a TaskInfo into its JSON view. */
export function taskView(task: TaskInfo, recentDurationsMs: readonly number[]): TaskView {
  return {
    name: task.name,
    kind: task.kind,
    schedule: task.schedule,
    description: describeTask(task),
    timezone: task.timezone,
    state: task.state,
    running: task.running,
    nextRun: iso(task.nextRun?.getTime() ?? null),
    lastRun: iso(task.lastRun?.getTime() ?? null),
    lastStatus: task.lastStatus,
    runCount: task.runCount,
    overlap: task.overlap,
    misfire: task.misfire,
    recentDurationsMs,
  };
}

/** Converts a history row into its JSON view. */
export function runView(run: RunRecord): RunView {
  return {
    taskName: run.taskName,
    scheduledAt: new Date(run.scheduledAt).toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs:
      run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    status: run.status,
    attempt: run.attempt,
    nodeId: run.nodeId,
    error: run.error,
  };
}

/** How many durations a sparkline shows. */
export const SPARKLINE_RUNS = 20;

/**
 * Recent run durations per task for the sparklines, read from the history and
 * cached: an entry is dropped when this process sees the task run, and after
 * `ttlMs` in any case (runs on other nodes of a cluster send no event here).
 */
export class DurationCache {
  readonly #scheduler: Scheduler;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { readonly atMs: number; readonly durations: number[] }>();

  constructor(scheduler: Scheduler, ttlMs = 30_000) {
    this.#scheduler = scheduler;
    this.#ttlMs = ttlMs;
  }

  /** Forgets one task's durations (it ran, or was removed). */
  invalidate(taskName: string): void {
    this.#entries.delete(taskName);
  }

  /** The durations (ms) of the task's latest finished runs, oldest first. */
  async get(taskName: string): Promise<number[]> {
    const nowMs = this.#scheduler.clock.nowMs();
    const cached = this.#entries.get(taskName);
    if (cached !== undefined && nowMs - cached.atMs < this.#ttlMs) return cached.durations;
    const history = await this.#scheduler.history(taskName, { limit: SPARKLINE_RUNS * 2 });
    const durations: number[] = [];
    for (const run of history) {
      if (run.startedAt === null || run.finishedAt === null) continue;
      durations.push(run.finishedAt - run.startedAt);
      if (durations.length === SPARKLINE_RUNS) break;
    }
    durations.reverse();
    this.#entries.set(taskName, { atMs: nowMs, durations });
    return durations;
  }
}
