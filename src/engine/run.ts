import type { BurstCall, DispatchOutcome } from "../core/dispatcher.js";
import type { DueBucket, QueueItem } from "../core/due-queue.js";
import type { RunContext } from "../core/run-context.js";
import type { CallbackInput, Task } from "../core/task.js";
import type { RunTrigger } from "../events.js";
import type { Claim } from "../store/store.js";

/** What one `runPending()` or `triggerTask()` call did. `ran` = `succeeded` + `failed` (attempts started). */
export interface RunReport {
  ran: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

export function emptyReport(): RunReport {
  return { ran: 0, succeeded: 0, failed: 0, skipped: 0 };
}

/**
 * Where a run is in its life (see docs/architecture.md, "A run's life"):
 *
 * - `planned`: allocated ahead of its instant by the planner, nothing counted yet;
 * - `due`: admitted by phase 1 (counted started and running), not claimed yet;
 * - `claimed`: the store gave this node the run (or needs no claims);
 * - `started`: its callback was called;
 * - `retried`: the attempt failed and another follows (a new object);
 * - `retry-scheduled`: that next attempt, waiting in the queue and holding
 *   the claim (the task still counts the run running);
 * - `finished`: its last attempt's outcome is recorded;
 * - `lost`: its claim was no longer this node's when its result was to be
 *   recorded (lease lost, claim reaped): recorded `lost` here, `interrupted`
 *   by the node that reaped it;
 * - `skipped`: claimed, then not started: another node's run of the task held
 *   it (overlap `skip` across nodes); recorded under the claim;
 * - `missed`: claimed too late to start (past its grace, or its lease too
 *   short): the misfire policy dropped it; recorded under the claim;
 * - `refused`: the store gave the run to another node (recorded there);
 * - `claim-failed`: the store could not be asked (it failed): not started;
 * - `given-back`: planned ahead with a claim taken ahead, then not started:
 *   the claim went back unspent;
 * - `dropped`: a retry whose task was removed meanwhile.
 *
 * Runs that never get an object (skipped by overlap, missed) are recorded by
 * {@link RunLifecycle} directly. Only `RunLifecycle` changes `state` (with
 * `lost-attempt.ts`, which only it calls).
 */
export type RunState =
  | "planned"
  | "due"
  | "claimed"
  | "started"
  | "retried"
  | "retry-scheduled"
  | "finished"
  | "lost"
  | "skipped"
  | "missed"
  | "refused"
  | "claim-failed"
  | "given-back"
  | "dropped";

/**
 * One attempt of one run (task, scheduled instant), from phase 1 to its
 * record; a retry is a new object for the next attempt, queued until due. It
 * is also the request given to the Dispatcher and a queue item, so that a
 * burst of runs allocates one object per run.
 */
export class Run implements BurstCall, QueueItem {
  readonly task: Task;
  /** The task's callback; for a run planned ahead, a handler name is replaced by its function. */
  callback: CallbackInput;
  // Copied from the task (its options never change) so the dispatcher reads fields, not getters.
  readonly taskName: string;
  readonly payload: unknown;
  readonly timeoutMs: number;
  readonly scheduledAtMs: number;
  attempt: number;
  readonly trigger: RunTrigger;
  state: RunState;
  /** The report of the call that starts the run (set when it starts, for a run planned ahead). */
  report: RunReport;
  /** The store's claim; null when not claimed yet, or when the store needs no claims. */
  claim: Claim | null;
  /** `ctx.fencingToken`: the claim's, or one of this scheduler's own without claims. */
  fencingToken = 0;
  // NaN, not 0: a field that starts as a small integer and later holds epoch ms changes
  // representation, and V8 then migrates every earlier instance on its next access.
  startedAtMs = Number.NaN;
  startMono = Number.NaN;
  /** When a callback that returned synchronously returned (monotonic ms); NaN otherwise. */
  endMono = Number.NaN;
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
  /** Set when the attempt was cancelled (`Scheduler.cancelTask`): the reason its context was aborted with. */
  cancelReason: unknown = undefined;
  /** A retry: settles once the previous attempt's row is written (or found lost); its own finish waits for it. */
  previousWrite: Promise<void> | undefined = undefined;
  #localId: string | undefined = undefined;
  /** Its index among the attempts in flight while it is one (engine/in-flight-attempts.ts), else -1. */
  inFlightSlot = -1;
  /** Where a retry waits in the engine's queue (maintained by the queue). */
  queueBucket: DueBucket<QueueItem> | null = null;
  queueSlot = -1;

  constructor(
    task: Task,
    scheduledAtMs: number,
    trigger: RunTrigger,
    state: RunState,
    report: RunReport,
  ) {
    this.task = task;
    this.taskName = task.name;
    this.callback = task.callback;
    this.payload = task.options.payload;
    this.timeoutMs = task.options.timeoutMs;
    this.scheduledAtMs = scheduledAtMs;
    this.attempt = 1;
    this.trigger = trigger;
    this.state = state;
    this.claim = null;
    this.report = report;
  }

  /** True from the start of an attempt until it is recorded. */
  get inFlight(): boolean {
    return this.state === "started";
  }

  /** The claim id, or a local id shared by the run's retries when there is no claim. */
  get runId(): string {
    // The local id made once: its start and its end both tell it.
    return this.claim?.id ?? (this.#localId ??= `local:${this.taskName}@${this.scheduledAtMs}`);
  }
}

/** True when `state` is one a run ends in. */
export function isFinal(state: RunState): boolean {
  return (
    state === "finished" ||
    state === "retried" ||
    state === "lost" ||
    state === "skipped" ||
    state === "missed" ||
    state === "refused" ||
    state === "claim-failed" ||
    state === "given-back" ||
    state === "dropped"
  );
}
