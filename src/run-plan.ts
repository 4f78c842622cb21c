import type { BurstCall, DispatchOutcome } from "./core/dispatcher.js";
import type { RunContext } from "./core/run-context.js";
import type { DueBucket, QueueItem } from "./core/due-queue.js";
import type { Schedule } from "./core/schedule.js";
import type { CallbackInput, ResolvedTaskOptions, Task } from "./core/task.js";
import type { RunTrigger } from "./events.js";
import type { Claim, RunRecord } from "./store/store.js";

/** What one `runPending()` or `triggerTask()` call did. `ran` = `succeeded` + `failed` (attempts started). */
export interface RunReport {
  ran: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

/** A failed attempt waiting in the heap for its retry; the task counts as running meanwhile. */
export class PendingRetry implements QueueItem {
  queueBucket: DueBucket<QueueItem> | null = null;
  queueSlot = -1;
  readonly task: Task;
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly claim: Claim | null;
  constructor(task: Task, scheduledAtMs: number, attempt: number, claim: Claim | null) {
    this.task = task;
    this.scheduledAtMs = scheduledAtMs;
    this.attempt = attempt;
    this.claim = claim;
  }
}

/**
 * One attempt from planning to recording. It is also the request given to the
 * Dispatcher, so that a burst of runs allocates one object per run.
 */
export class PlannedRun implements BurstCall {
  readonly task: Task;
  /** The task's callback; for a run planned ahead, a handler name is replaced by its function. */
  callback: CallbackInput;
  // Copied from the task (its options never change) so the dispatcher reads fields, not getters.
  readonly taskName: string;
  readonly payload: unknown;
  readonly timeoutMs: number;
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly trigger: RunTrigger;
  /** The report of the call that starts the run (set when it starts, for a run planned ahead). */
  report: RunReport;
  /** The store's claim; null when not claimed yet, or when the store needs no claims. */
  claim: Claim | null;
  /** True once the run may start: claimed, or the store needs no claims, or a retry of a started run. */
  claimed: boolean;
  // NaN, not 0: a field that starts as a small integer and later holds epoch ms changes
  // representation, and V8 then migrates every earlier instance on its next access.
  startedAtMs = Number.NaN;
  startMono = Number.NaN;
  /** When a callback that returned synchronously returned (monotonic ms); NaN otherwise. */
  endMono = Number.NaN;
  /** True from the start of an attempt until it is recorded. */
  inFlight = false;
  /** For a run planned ahead: the task's following occurrence (null: none), computed while planning. */
  followingMs: number | null = null;
  /** For a run planned ahead: the task's next run after this one, NaN when none (past `endAt`). */
  nextMs = Number.NaN;
  /** Set when an inline callback returned synchronously, until phase 3 takes it. */
  outcome: DispatchOutcome | null = null;
  /** The callback's ctx, made while planning a run a burst is to call (see `Dispatcher.callBurst`). */
  context: RunContext | undefined = undefined;
  /** What a burst's call returned or threw, until the outcome is taken. */
  result: unknown = undefined;
  threw = false;
  /** Aborted when the lease of the run's claim is lost (shared stores only; else undefined, the fast path). */
  signal: AbortSignal | undefined = undefined;

  constructor(
    task: Task,
    scheduledAtMs: number,
    attempt: number,
    trigger: RunTrigger,
    claim: Claim | null,
    report: RunReport,
  ) {
    this.task = task;
    this.taskName = task.name;
    this.callback = task.callback;
    this.payload = task.options.payload;
    this.timeoutMs = task.options.timeoutMs;
    this.scheduledAtMs = scheduledAtMs;
    this.attempt = attempt;
    this.trigger = trigger;
    this.claim = claim;
    this.claimed = trigger === "retry";
    this.report = report;
  }

  /** The claim id, or a local id shared by the run's retries when there is no claim. */
  get runId(): string {
    return this.claim?.id ?? `local:${this.taskName}@${this.scheduledAtMs}`;
  }
}

export function emptyReport(): RunReport {
  return { ran: 0, succeeded: 0, failed: 0, skipped: 0 };
}

/** How late a run may start and still be on time: jitter delays a run on purpose, and that delay is not lateness. */
export function graceMs(options: ResolvedTaskOptions): number {
  return options.misfireGraceMs + options.jitterMs;
}

/**
 * True when the run due at `dueMs` starts now as an ordinary run: within its
 * grace period, and its following occurrence (`followingMs`, null: none) not
 * due yet. Otherwise the misfire policy decides.
 */
export function onTime(
  options: ResolvedTaskOptions,
  dueMs: number,
  followingMs: number | null,
  nowMs: number,
): boolean {
  return nowMs - dueMs <= graceMs(options) && (followingMs === null || followingMs > nowMs);
}

/** `ms` when the task may still run then (not past `endAt`), else null. */
export function beforeEnd(options: ResolvedTaskOptions, ms: number | null): number | null {
  return ms !== null && ms <= options.endAtMs ? ms : null;
}

/** The first run of a new task at `nowMs`, null when none is left: after `startAt`, up to `endAt`. */
export function firstRunOf(
  schedule: Schedule,
  options: ResolvedTaskOptions,
  nowMs: number,
): number | null {
  const from = Math.max(nowMs - 1, options.startAtMs - 1);
  const first = schedule.next(
    schedule.kind === "once" ? from : Math.max(nowMs, options.startAtMs - 1),
  );
  return beforeEnd(options, first);
}

export function jitter(options: ResolvedTaskOptions): number {
  return options.jitterMs > 0 ? Math.floor(Math.random() * (options.jitterMs + 1)) : 0;
}

export function errorFields(error: unknown): RunRecord["error"] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { message: String(error) };
}
