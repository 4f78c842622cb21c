import type { EventEmitter } from "node:events";
import type { RunStatus, TaskInfo } from "./core/task.js";
import { safeLog, type Logger } from "./logger.js";
import type { StoreFailureKind } from "./store/store-failure.js";
import type { ClockJump } from "./time/timer-loop.js";

/** Why a run started: its schedule (or a misfire catch-up), `triggerTask`, or a retry of a failed attempt. */
export type RunTrigger = "schedule" | "catch-up" | "manual" | "retry";

/** Fields common to run events. */
export interface RunEventBase {
  readonly taskName: string;
  /** The occurrence this run is for. */
  readonly scheduledAt: Date;
  /** 1-based attempt number. */
  readonly attempt: number;
  readonly trigger: RunTrigger;
  /** The claim id: one per (task, scheduled time), shared by its retries. */
  readonly runId: string;
}

/** `run:start`: a callback is about to be called. */
export interface RunStartEvent extends RunEventBase {
  readonly startedAt: Date;
}

/** `run:success`. */
export interface RunSuccessEvent extends RunEventBase {
  readonly durationMs: number;
}

/** `run:error`: the callback threw, rejected or timed out, or was cancelled (and ended by it). */
export interface RunErrorEvent extends RunEventBase {
  readonly error: unknown;
  readonly status: Extract<RunStatus, "failed" | "timed-out" | "cancelled">;
  readonly durationMs: number;
  /** True when another attempt is scheduled, at `retryAt`. */
  readonly willRetry: boolean;
  readonly retryAt: Date | null;
}

/** `run:skipped`: a due run did not start. */
export interface RunSkippedEvent {
  readonly taskName: string;
  readonly scheduledAt: Date;
  /** `overlap`: the task was running (overlap "skip", or the queue was full); `claimed`: another scheduler sharing the store ran it. */
  readonly reason: "overlap" | "claimed";
}

/** `run:missed`: occurrences that passed without running, as the misfire policy decided. */
export interface RunMissedEvent {
  readonly taskName: string;
  /** The missed occurrences, oldest first (at most 100 are listed). */
  readonly missed: readonly Date[];
  /** How many were missed in all (exact, however many). */
  readonly count: number;
  readonly policy: string;
}

/** `task:removed`. */
export interface TaskRemovedEvent {
  readonly taskName: string;
}

/**
 * `task:quarantined`: a stored task's callback record could not be opened
 * (wrong or missing key, tampering, a record copied from another task, a
 * plaintext record refused in production mode). The task stays in the store,
 * untouched, and does not run in this process; every other task keeps running.
 */
export interface TaskQuarantinedEvent {
  readonly taskName: string;
  /** The DecryptionError (or other error) that opening the record raised. */
  readonly error: unknown;
  /** The DecryptionError's `reason` (`authentication-failed`, `unknown-key`, …) when it has one. */
  readonly reason: string | undefined;
}

/**
 * `task:handler-missing`: a stored task names a handler that no
 * `defineHandler` call in this process provides. The task is kept; its runs
 * fail with a message naming the handler until it is defined.
 */
export interface TaskHandlerMissingEvent {
  readonly taskName: string;
  readonly handler: string;
}

/** `scheduler:error`: something failed outside any callback (a store write, …); the scheduler carries on. */
export interface SchedulerErrorEvent {
  readonly error: unknown;
  readonly context: string;
  readonly taskName?: string;
}

/**
 * `lease:lost`: this node lost the lease of a run it held (the store refused
 * a renewal, or renewals kept failing until the lease may have expired). The
 * run's `ctx.signal` is aborted and its outcome is not recorded: the node
 * that reaps the claim records it `interrupted` and applies the retry policy.
 */
export interface LeaseLostEvent {
  readonly taskName: string;
  readonly scheduledAt: Date;
  /** The claim id (the run id of the run's events). */
  readonly claimId: string;
  /** True when a callback of this run was in flight here (and was aborted). */
  readonly inFlight: boolean;
  /** The LeaseLostError. */
  readonly error: unknown;
}

/**
 * `run:lost`: an attempt ended on this node, but its result does not count:
 * the run's claim was no longer this node's (its lease was lost, or another
 * node reaped it) when the result was to be recorded. The run is recorded
 * `lost` here (informational); the node that reaped the claim records it
 * `interrupted` and retries it per policy.
 */
export interface RunLostEvent extends RunEventBase {
  /** What the attempt ended with here: `succeeded`, `failed`, `timed-out` or `cancelled`. */
  readonly outcome: Extract<RunStatus, "succeeded" | "failed" | "timed-out" | "cancelled">;
  readonly durationMs: number;
}

/** `clock:skew`: this node's clock differs from the shared store's (database) clock by more than `maxClockSkewMs`. */
export interface ClockSkewEvent {
  /** Store clock minus this node's clock, in ms (positive: this node is behind). */
  readonly skewMs: number;
  /** Round trip of the measurement, in ms: the skew is known to ± half of it. */
  readonly roundTripMs: number;
  /** The `maxClockSkewMs` option. */
  readonly thresholdMs: number;
}

/**
 * `store:unreachable`: a claim or a run's finishing write failed; the store is
 * unusable and the node claims no new runs until a call succeeds again.
 */
export interface StoreUnreachableEvent {
  readonly error: unknown;
  /** What failed: `unreachable`, `full`, `corrupt`, `read-only`, `locked`, `io` or `other`. */
  readonly reason: StoreFailureKind;
}

/** `store:reconnected`: a call succeeded again after `store:unreachable`. */
export interface StoreReconnectedEvent {
  /** How long the store was unusable, in ms. */
  readonly downMs: number;
  /** Failed attempts meanwhile (the first failure included). */
  readonly failures: number;
  /** Due runs that did not start meanwhile because they could not be claimed. */
  readonly runsNotStarted: number;
}

/**
 * `task:synced`: a change made by another node of a shared store was applied
 * here (a task added, replaced, paused, resumed or removed elsewhere).
 */
export interface TaskSyncedEvent {
  readonly taskName: string;
  readonly change: "added" | "replaced" | "paused" | "resumed" | "removed" | "quarantined";
}

/**
 * `nodes:changed`: the live nodes sharing the store changed, as this node
 * sees them (heartbeats in the store's `nodes` table): the work is shared
 * again among them (rendezvous hashing of task names over `live`).
 */
export interface NodesChangedEvent {
  /** The live node ids, this node included, sorted. */
  readonly live: readonly string[];
  readonly joined: readonly string[];
  readonly left: readonly string[];
}

/** The typed events of a Scheduler. */
export interface SchedulerEvents {
  "run:start": [RunStartEvent];
  /**
   * The `run:start` events of one batch of runs, all together, once every
   * callback of the batch has been called: for observers (logs, metrics) that
   * need not run before each callback, and so cost a burst's callbacks nothing.
   */
  "runs:started": [readonly RunStartEvent[]];
  "run:success": [RunSuccessEvent];
  "run:error": [RunErrorEvent];
  "run:skipped": [RunSkippedEvent];
  "run:missed": [RunMissedEvent];
  "run:lost": [RunLostEvent];
  "task:registered": [TaskInfo];
  "task:removed": [TaskRemovedEvent];
  "task:completed": [TaskInfo];
  "task:quarantined": [TaskQuarantinedEvent];
  "task:handler-missing": [TaskHandlerMissingEvent];
  "clock:jump": [ClockJump];
  "clock:skew": [ClockSkewEvent];
  "lease:lost": [LeaseLostEvent];
  "store:unreachable": [StoreUnreachableEvent];
  "store:reconnected": [StoreReconnectedEvent];
  "task:synced": [TaskSyncedEvent];
  "nodes:changed": [NodesChangedEvent];
  "scheduler:error": [SchedulerErrorEvent];
}

/**
 * Calls every listener of `event` with `payload`, each in its own try/catch:
 * a listener that throws (or returns a promise that rejects) is logged and
 * never stops the others or the caller. `once` listeners are removed as usual.
 */
export function safeEmit<K extends keyof SchedulerEvents>(
  emitter: EventEmitter<SchedulerEvents>,
  logger: Logger,
  event: K,
  ...payload: SchedulerEvents[K]
): void {
  const untyped = emitter as unknown as EventEmitter;
  if (untyped.listenerCount(event) === 0) return;
  for (const listener of untyped.rawListeners(event) as ((...args: unknown[]) => unknown)[]) {
    try {
      const result = listener.apply(emitter, payload);
      if (
        result !== null &&
        typeof result === "object" &&
        typeof (result as Promise<unknown>).then === "function"
      ) {
        (result as Promise<unknown>).then(undefined, (error: unknown) => {
          safeLog(logger, "error", { err: error, event }, "An event listener rejected");
        });
      }
    } catch (error) {
      safeLog(logger, "error", { err: error, event }, "An event listener threw");
    }
  }
}
