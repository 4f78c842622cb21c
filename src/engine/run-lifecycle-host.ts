import type { Task } from "../core/task.js";
import type { LeaseGuard } from "../leasing/lease-guard.js";
import type { Clock } from "../time/clock.js";
import type { Run } from "./run.js";
import type { RunRecorderHost } from "./run-recorder.js";

/** What a run's life needs from the Scheduler. */
export interface RunLifecycleHost extends RunRecorderHost {
  readonly clock: Clock;
  /** The registered task of that name, if any. */
  task(name: string): Task | undefined;
  /** Shared stores: aborts attempts whose lease was lost, and keeps their outcome unrecorded. */
  readonly leases?: LeaseGuard;
}

/** What a run's life hands back to the engine. */
export interface RunLifecycleHooks {
  /** Queues `run` (state `retry-scheduled`), due at `atMs`. */
  queueRetry(run: Run, atMs: number): void;
  /** Takes a queued retry out of the queue (its run was lost). */
  dropRetry(run: Run): void;
  /** After a run of `task` ended or did not start (synchronously): start its next queued run, or complete it. */
  afterRun(task: Task): void;
  /** Nothing of the task waits for the store any longer (see `Task.awaitingStore`); told only while `heldBack.size` > 0. */
  storeAnswered(task: Task): void;
  /** How many tasks hold occurrences back (engine/held-back.ts): none, and nothing need be told. */
  readonly heldBack: { readonly size: number };
  /** The store says `task` started its `maxRuns` runs (on any node): it runs no more here. */
  maxRunsReached(task: Task): void;
}
