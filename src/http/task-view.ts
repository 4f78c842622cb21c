import type { MisfirePolicy } from "../core/misfire.js";
import type { OverlapPolicy } from "../core/overlap.js";
import { IntervalSchedule, OnceSchedule, type ScheduleSpec } from "../core/schedule.js";
import type { TaskInfo, TaskState } from "../core/task.js";
import { parseCron } from "../cron/index.js";
import type { DecryptionFailureReason } from "../errors.js";
import type { Scheduler } from "../scheduler/index.js";
import type { RunRecord, Store, TaskRecord } from "../store/store.js";

/**
 * Why a task is quarantined: its record did not open (a {@link DecryptionFailureReason}),
 * its stored schedule is invalid, or the record could not be read at all.
 */
export type QuarantineReason = DecryptionFailureReason | "invalid-schedule" | "unreadable";

/**
 * A task as the JSON API (`GET /api/tasks`, `GET /api/tasks/:name`) and
 * `orchestrator list --json` both show it: the same keys, always present.
 * The API reads a running scheduler, the CLI reads the store; a key one of
 * them cannot know is null there (see each key). The payload is left out: it
 * may hold secrets (it is what gets sealed at rest).
 */
export interface TaskView {
  readonly name: string;
  readonly kind: TaskInfo["kind"];
  /** As written: the cron expression, the ISO instant of a one-time task, or `every <n>ms`. */
  readonly schedule: string;
  /** The schedule in plain English ("At 02:30, Monday through Friday", "Every 5m"). */
  readonly description: string;
  /** The IANA zone of a cron task, null for the others. */
  readonly timezone: string | null;
  readonly state: TaskState;
  /**
   * Why it is quarantined; null when it is not, and in the API (the scheduler
   * logs the reason when it loads the task, but does not keep it).
   */
  readonly quarantineReason: QuarantineReason | null;
  /**
   * False when `state` is the stored one, unchecked: the CLI found no
   * encryption key to open the record with (a task whose record does not
   * open is quarantined by the daemon). Always true in the API.
   */
  readonly checked: boolean;
  /**
   * True when `orchestrator run` added it from a schedule file; false when it
   * was registered otherwise; null when unknown (its record was not opened,
   * or the server was not told how to recognise such tasks).
   */
  readonly fromScheduleFile: boolean | null;
  /**
   * True while a run of it is in flight in the scheduler serving the API;
   * null from the CLI, which reads the store (runs in flight are known only
   * to the process running them).
   */
  readonly running: boolean | null;
  /** The next scheduled run (ISO 8601); null when paused, completed, quarantined or none is left. */
  readonly nextRun: string | null;
  /** When the last run started (ISO 8601); null before the first. */
  readonly lastRun: string | null;
  readonly lastStatus: TaskInfo["lastStatus"];
  /** Finished runs (successful or not; retries and skips not counted). */
  readonly runCount: number;
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  /** Durations (ms) of the latest finished runs, oldest first (for a sparkline). */
  readonly recentDurationsMs: readonly number[];
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

/**
 * A registered task's view. `fromScheduleFile` tells whether a payload
 * carries the mark of a task added from a schedule file (the daemon passes
 * its check); without it, that key is null.
 */
export function taskView(
  task: TaskInfo,
  recentDurationsMs: readonly number[],
  fromScheduleFile?: (payload: unknown) => boolean,
): TaskView {
  return {
    name: task.name,
    kind: task.kind,
    schedule: task.schedule,
    description: describeTask(task),
    timezone: task.timezone,
    state: task.state,
    quarantineReason: null,
    checked: true,
    // A quarantined task's payload is unknown: its record did not open.
    fromScheduleFile:
      fromScheduleFile === undefined || task.state === "quarantined"
        ? null
        : fromScheduleFile(task.payload),
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

/** A stored task as the daemon would see it with the key at hand (what the CLI finds out). */
export interface StoredTask {
  readonly record: TaskRecord;
  /**
   * The daemon's state for it: `quarantined` when its record does not open
   * with the key (a state stores never hold: it depends on the key), else the
   * stored one (`active`, `paused`, `completed`).
   */
  readonly state: TaskState;
  /** False when there was no key to open records with: `state` is then the stored one, unchecked. */
  readonly checked: boolean;
  /** Why it is quarantined (absent when it is not). */
  readonly quarantineReason?: QuarantineReason;
  /**
   * True when the daemon added it from a schedule file (the mark in its sealed
   * payload); false when it opened without that mark (registered in code, or a
   * module task, whose payload is the module's own); undefined when unknown.
   */
  readonly fromScheduleFile: boolean | undefined;
}

/** The schedule of a stored task in the words of a registered one (`Schedule.source`). */
function storedSchedule(spec: ScheduleSpec): Pick<TaskInfo, "kind" | "schedule" | "timezone"> {
  switch (spec.kind) {
    case "cron":
      return { kind: "cron", schedule: spec.expression, timezone: spec.timezone };
    case "interval":
      return {
        kind: "interval",
        schedule: new IntervalSchedule(spec.everyMs, spec.anchorMs).source,
        timezone: null,
      };
    case "once":
      return { kind: "once", schedule: new OnceSchedule(spec.atMs).source, timezone: null };
  }
}

/** A stored task's view: the keys of {@link taskView}, with `running` null. */
export function storedTaskView(task: StoredTask, recentDurationsMs: readonly number[]): TaskView {
  const { record, state } = task;
  const schedule = storedSchedule(record.schedule);
  return {
    name: record.name,
    ...schedule,
    description: describeTask(schedule),
    state,
    quarantineReason: task.quarantineReason ?? null,
    checked: task.checked,
    fromScheduleFile: task.fromScheduleFile ?? null,
    running: null,
    // A quarantined task does not run, whatever its record says.
    nextRun: state === "quarantined" ? null : iso(record.nextRunAt),
    lastRun: iso(record.lastRunAt),
    lastStatus: record.lastStatus,
    runCount: record.runCount,
    // The scheduler wrote them from its validated options.
    overlap: record.options.overlap as OverlapPolicy,
    misfire: record.options.misfire as MisfirePolicy,
    recentDurationsMs,
  };
}

/** How many durations a sparkline shows. */
export const SPARKLINE_RUNS = 20;

/** How many history rows (newest first) {@link recentDurations} is given to find them in. */
export const SPARKLINE_HISTORY_ROWS = SPARKLINE_RUNS * 2;

/**
 * The durations (ms) of the latest finished runs in `history` (newest
 * first), at most {@link SPARKLINE_RUNS}, oldest first.
 */
export function recentDurations(history: readonly RunRecord[]): number[] {
  const durations: number[] = [];
  for (const run of history) {
    if (run.startedAt === null || run.finishedAt === null) continue;
    durations.push(run.finishedAt - run.startedAt);
    if (durations.length === SPARKLINE_RUNS) break;
  }
  return durations.reverse();
}

/**
 * The recent durations (ms, oldest first) of each of `names`: from the store's
 * per-task summaries in one call where it keeps them (no history scan), else
 * from each task's newest history rows. Used by the dashboard and `orchestrator list`.
 */
export async function readRecentDurations(
  store: Pick<Store, "history" | "taskSummaries">,
  names: readonly string[],
): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  if (store.taskSummaries !== undefined) {
    const summaries = await store.taskSummaries(names);
    for (const name of names) found.set(name, [...(summaries.get(name)?.recentDurationsMs ?? [])]);
    return found;
  }
  for (const name of names) {
    const history = await store.history({ taskName: name, limit: SPARKLINE_HISTORY_ROWS });
    found.set(name, recentDurations(history));
  }
  return found;
}

/**
 * Recent run durations per task for the sparklines, read with
 * {@link readRecentDurations} and cached: an entry is dropped when this
 * process sees the task run, and after `ttlMs` in any case (runs on other
 * nodes of a cluster send no event here).
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

  /** Reads, in one store call where the store keeps summaries, the durations of those of `names` not cached. */
  async load(names: readonly string[]): Promise<void> {
    const nowMs = this.#scheduler.clock.nowMs();
    const missing = names.filter((name) => {
      const cached = this.#entries.get(name);
      return cached === undefined || nowMs - cached.atMs >= this.#ttlMs;
    });
    if (missing.length === 0) return;
    // Through history() first: it waits for the store to be open.
    await this.#scheduler.history(undefined, { limit: 0 });
    const read = await readRecentDurations(this.#scheduler.store, missing);
    for (const [name, durations] of read) this.#entries.set(name, { atMs: nowMs, durations });
  }

  /** The durations (ms) of the task's latest finished runs, oldest first. */
  async get(taskName: string): Promise<number[]> {
    await this.load([taskName]);
    return this.#entries.get(taskName)?.durations ?? [];
  }
}
