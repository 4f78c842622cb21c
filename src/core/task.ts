import { describeValue } from "../errors.js";
import type { CronOptions } from "../cron/index.js";
import type { Duration } from "../time/duration.js";
import type { MisfirePolicy } from "./misfire.js";
import type { OverlapPolicy } from "./overlap.js";
import { RETRY_DEFAULTS, type RetryPolicy } from "./retry.js";
import type { DueBucket, QueueItem } from "./due-queue.js";
import type { Schedule, ScheduleKind } from "./schedule.js";

/** A task's lifecycle state. `completed`: it will never run again (one-time done, `maxRuns` or `endAt` reached). */
export type TaskState = "active" | "paused" | "quarantined" | "completed";

/** {@link TaskOptions.noRunsLeft}. */
export type NoRunsLeftPolicy = "throw" | "complete";

/** The recorded outcome of one run. */
export type RunStatus =
  | "succeeded"
  | "failed"
  | "timed-out"
  | "cancelled"
  | "skipped"
  | "missed"
  | "interrupted"
  | "lost";

/** What a callback receives. */
export interface TaskContext<Payload = unknown> {
  /** The task's name. */
  readonly taskName: string;
  /** The instant this run was scheduled for (not when it started); `triggerTask` uses the trigger time. */
  readonly scheduledAt: Date;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /**
   * Aborted when the run times out, the scheduler stops, or (on a shared
   * store) this node loses the run's lease; long callbacks should honour it.
   */
  readonly signal: AbortSignal;
  /**
   * Grows with every claim of a run (on a shared store, across every node
   * sharing it): pass it to the systems this callback writes to, and have
   * them refuse a token lower than one they have seen, so that a node that
   * stalled past its lease cannot overwrite the work of the node that retried
   * its run (docs/guides/clusters.md, "Fencing").
   */
  readonly fencingToken: number;
  /** The task's `payload` option (undefined when none). */
  readonly payload: Payload;
}

/** An inline task callback, sync or async. Its return value is ignored; a throw or rejection is a failed run. */
export type TaskCallback<Payload = unknown> = (ctx: TaskContext<Payload>) => unknown;

/**
 * A handler that runs in a worker thread: a module (absolute path or URL) and
 * the name of an export (default `"default"`), called with a serializable
 * context `{ taskName, scheduledAt, attempt, payload }`.
 */
export interface ModuleHandler {
  readonly module: string | URL;
  readonly export?: string;
}

/** What `registerTask` accepts as the callback: a function, a handler name given to `defineHandler`, or a module handler. */
export type CallbackInput<Payload = unknown> = TaskCallback<Payload> | string | ModuleHandler;

/** Options of `registerTask`. Durations are in ms (or text such as `"90s"` where noted). */
export interface TaskOptions<Payload = unknown> {
  /**
   * IANA zone the cron expression is read in.
   * @defaultValue the scheduler's `timezone`
   */
  timezone?: string;
  /**
   * What to do when a run falls due while the previous one is still running.
   * @defaultValue "skip"
   */
  overlap?: OverlapPolicy;
  /**
   * What to do with runs missed while the process was down, asleep, or blocked.
   * @defaultValue "run-once"
   */
  misfire?: MisfirePolicy;
  /**
   * A run starting later than this after its scheduled time counts as missed.
   * @defaultValue 1000
   */
  misfireGraceMs?: number;
  /**
   * The most catch-up runs `misfire: "run-all"` starts at once.
   * @defaultValue 100
   */
  maxCatchUpRuns?: number;
  /**
   * Abort a run after this long (0: no limit). Inline callbacks see `ctx.signal` abort; worker handlers are terminated.
   * @defaultValue 0
   */
  timeoutMs?: number;
  /**
   * Retry policy for failed runs (a number is shorthand for `{ attempts }`).
   * @defaultValue `{ attempts: 0 }`
   */
  retries?: Partial<RetryPolicy> | number;
  /** No run before this instant. */
  startAt?: Date | number | string;
  /** No run after this instant; the task then completes. */
  endAt?: Date | number | string;
  /** Complete the task after this many runs (retries not counted). */
  maxRuns?: number;
  /**
   * Keep at most this task's newest N history rows (each attempt is a row):
   * older ones are deleted when history is pruned (at start and every minute
   * while started), whatever their age; `historyRetention.maxAgeMs` still
   * applies to the N kept. For a task whose runs write large outputs.
   * @defaultValue no limit of its own
   */
  keepLast?: number;
  /**
   * Start each run up to this many ms late, at random (spreads load); `ctx.scheduledAt` is unchanged.
   * @defaultValue 0
   */
  jitterMs?: number;
  /** JSON-serializable data given to the callback as `ctx.payload`. */
  payload?: Payload;
  /**
   * Replace a task of the same name instead of throwing DuplicateTaskError.
   * @defaultValue false
   */
  replace?: boolean;
  /**
   * What registering a task with no run left does (a one-time `Date` already
   * past, an `endAt` already past): `"throw"` throws InvalidArgumentError;
   * `"complete"` registers it in the `completed` state, never to run (a
   * schedule file does so, so that waiting never makes a file unstartable).
   * @defaultValue "throw"
   */
  noRunsLeft?: NoRunsLeftPolicy;
  /** How day-of-month and day-of-week combine in the cron expression (see the cron module). */
  dayMatch?: CronOptions["dayMatch"];
  /** Daylight-saving behaviour of the cron expression (docs/guides/cron.md). */
  dst?: CronOptions["dst"];
}

/** The defaults of {@link TaskOptions} that have one. */
export const TASK_DEFAULTS = Object.freeze({
  overlap: "skip",
  misfire: "run-once",
  misfireGraceMs: 1_000,
  maxCatchUpRuns: 100,
  timeoutMs: 0,
  jitterMs: 0,
  maxRuns: Number.POSITIVE_INFINITY,
  keepLast: Number.POSITIVE_INFINITY,
  replace: false,
  noRunsLeft: "throw",
} satisfies Required<
  Pick<
    TaskOptions,
    | "overlap"
    | "misfire"
    | "misfireGraceMs"
    | "maxCatchUpRuns"
    | "timeoutMs"
    | "jitterMs"
    | "maxRuns"
    | "keepLast"
    | "replace"
    | "noRunsLeft"
  >
>);

/** Task options after validation, with defaults applied. Instants in epoch ms. Shared and frozen. */
export interface ResolvedTaskOptions {
  readonly timezone: string | undefined;
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  readonly misfireGraceMs: number;
  readonly maxCatchUpRuns: number;
  readonly timeoutMs: number;
  readonly retries: Readonly<RetryPolicy>;
  /** -Infinity when unset. */
  readonly startAtMs: number;
  /** +Infinity when unset. */
  readonly endAtMs: number;
  readonly maxRuns: number;
  /** +Infinity when unset. */
  readonly keepLast: number;
  readonly jitterMs: number;
  readonly payload: unknown;
  readonly replace: boolean;
  readonly noRunsLeft: NoRunsLeftPolicy;
  readonly dayMatch: CronOptions["dayMatch"];
  readonly dst: CronOptions["dst"];
}

/** The options of a task registered without any, shared by all such tasks to keep them small. */
export const DEFAULT_TASK_OPTIONS: ResolvedTaskOptions = Object.freeze({
  timezone: undefined,
  overlap: TASK_DEFAULTS.overlap,
  misfire: TASK_DEFAULTS.misfire,
  misfireGraceMs: TASK_DEFAULTS.misfireGraceMs,
  maxCatchUpRuns: TASK_DEFAULTS.maxCatchUpRuns,
  timeoutMs: TASK_DEFAULTS.timeoutMs,
  retries: RETRY_DEFAULTS,
  startAtMs: Number.NEGATIVE_INFINITY,
  endAtMs: Number.POSITIVE_INFINITY,
  maxRuns: TASK_DEFAULTS.maxRuns,
  keepLast: TASK_DEFAULTS.keepLast,
  jitterMs: TASK_DEFAULTS.jitterMs,
  payload: undefined,
  replace: TASK_DEFAULTS.replace,
  noRunsLeft: TASK_DEFAULTS.noRunsLeft,
  dayMatch: undefined,
  dst: undefined,
});

/** A public snapshot of one task. */
export interface TaskInfo {
  readonly name: string;
  readonly kind: ScheduleKind;
  /** The cron expression, the ISO instant of a one-time task, or `every Nms`. */
  readonly schedule: string;
  /** The zone of a cron task, null otherwise. */
  readonly timezone: string | null;
  readonly state: TaskState;
  /** True while at least one run of it is in flight. */
  readonly running: boolean;
  /** The next scheduled run (null when paused, completed, or none left). */
  readonly nextRun: Date | null;
  /** When the last run started. */
  readonly lastRun: Date | null;
  readonly lastStatus: RunStatus | null;
  /** Finished runs (successful or not; retries and skips not counted). */
  readonly runCount: number;
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  readonly payload: unknown;
}

/** A run waiting for the task's running run to finish (`overlap: "queue"`, catch-ups). */
export interface QueuedRun {
  readonly scheduledAtMs: number;
  readonly trigger: "schedule" | "catch-up" | "manual";
}

/**
 * The in-memory state of one registered task. Kept compact (one object, no
 * per-task closures or Dates) because a process may hold a million of them.
 */
export class Task implements QueueItem {
  readonly name: string;
  readonly schedule: Schedule;
  readonly callback: CallbackInput;
  readonly options: ResolvedTaskOptions;
  state: TaskState = "active";
  /** Next scheduled occurrence (epoch ms), NaN when none. */
  nextRunMs = Number.NaN;
  queueBucket: DueBucket<QueueItem> | null = null;
  queueSlot = -1;
  /** Runs in flight. */
  running = 0;
  /**
   * What of the task waits for the store: runs admitted here and not yet
   * claimed (runs deferred to the node that owns the task not counted), and
   * rows of runs without a claim (skipped, missed) not yet settled. While
   * anything waits, phase 1 holds the task's next occurrences back (see
   * `RunEngine`: admission by task).
   */
  awaitingStore = 0;
  /** Runs started (for `maxRuns`, counted at start so concurrent runs cannot exceed it). */
  started = 0;
  runCount = 0;
  /**
   * When the last run started (epoch ms), NaN before the first. A number
   * field from the start, so each run's store is in place: null first would
   * allocate a boxed number per run and log it in the collector's
   * old-to-young set, ten thousand times in a burst.
   */
  lastRunMs = Number.NaN;
  lastStatus: RunStatus | null = null;
  /** Runs waiting behind a running run (`overlap: "queue"`, catch-ups), created on first use. */
  queue: QueuedRun[] | null = null;
  /**
   * Set when unregistered or replaced: nothing reschedules it again. A task
   * leaves the scheduler's map of tasks only through `RunEngine.detach`, which
   * sets it, so `!removed` is "still the registered task of its name" without a
   * lookup (three per run in phase 3 otherwise).
   */
  removed = false;
  /** Due runs skipped by the overlap policy since a run of it last started (for the warning). */
  skippedInARow = 0;

  constructor(
    name: string,
    schedule: Schedule,
    callback: CallbackInput,
    options: ResolvedTaskOptions,
  ) {
    this.name = name;
    this.schedule = schedule;
    this.callback = callback;
    this.options = options;
    // Stored a second time on purpose: V8 treats a field that no object has
    // changed since initializing it as a constant, and the first run to change
    // these would discard, in the middle of a burst, the optimized code that
    // planning the burst produced (readyFor, idle).
    this.running = 0;
    this.awaitingStore = 0;
    this.started = 0;
  }

  /** True when no run of the task is in flight and none is queued behind one. */
  get idle(): boolean {
    return this.running === 0 && (this.queue === null || this.queue.length === 0);
  }

  /**
   * True when the task, taken out of the due queue for its run at
   * `scheduledAtMs`, has not moved since: still active and registered, not
   * queued again, and that is still its next run.
   */
  takenFor(scheduledAtMs: number): boolean {
    return (
      this.state === "active" &&
      !this.removed &&
      this.queueBucket === null &&
      this.nextRunMs === scheduledAtMs
    );
  }

  /**
   * True when the task's scheduled run at `scheduledAtMs`, taken out of the
   * due queue, may start at once: {@link takenFor} it, idle, nothing waiting
   * for the store, and `maxRuns` not reached.
   */
  readyFor(scheduledAtMs: number): boolean {
    return (
      this.takenFor(scheduledAtMs) &&
      this.idle &&
      this.awaitingStore === 0 &&
      this.started < this.options.maxRuns
    );
  }

  /**
   * Takes over the run state a store kept for this task (restoring it after a
   * restart, or from another node): the only change of its counters outside
   * the run engine's RunLifecycle, and only before the task is scheduled.
   */
  restoreProgress(progress: {
    readonly state: TaskState;
    readonly runCount: number;
    readonly lastRunAt: number | null;
    readonly lastStatus: RunStatus | null;
    readonly nextRunAt: number | null;
  }): void {
    this.state = progress.state;
    this.runCount = progress.runCount;
    this.started = progress.runCount;
    this.lastRunMs = progress.lastRunAt ?? Number.NaN;
    this.lastStatus = progress.lastStatus;
    this.nextRunMs =
      progress.state === "active" && progress.nextRunAt !== null ? progress.nextRunAt : Number.NaN;
  }

  /** The public snapshot. */
  info(): TaskInfo {
    return {
      name: this.name,
      kind: this.schedule.kind,
      schedule: this.schedule.source,
      timezone: this.schedule.timezone,
      state: this.state,
      running: this.running > 0,
      nextRun: Number.isNaN(this.nextRunMs) ? null : new Date(this.nextRunMs),
      lastRun: Number.isNaN(this.lastRunMs) ? null : new Date(this.lastRunMs),
      lastStatus: this.lastStatus,
      runCount: this.runCount,
      overlap: this.options.overlap,
      misfire: this.options.misfire,
      payload: this.options.payload,
    };
  }
}

/** For messages. */
export function describeCallback(callback: unknown): string {
  return describeValue(callback);
}

/** Re-exported for option types. */
export type { Duration };
