import type { Task } from "../core/task.js";
import { Run } from "./run.js";
import { eventBase, tellOutcome, type Attempt } from "./run-attempt.js";
import type { RunLifecycleHooks, RunLifecycleHost } from "./run-lifecycle-host.js";

/**
 * The counted path of phase 3: an attempt whose result counts moves its task
 * on (a retry, or the run's end), which says how its row is written. These
 * functions are part of `RunLifecycle` (engine/run-lifecycle.ts), the one
 * owner of a run's state and its task's counters: only `RunLifecycle.finish`
 * calls them, and `unsettle` (lost-attempt.ts) takes back what they counted
 * when the row is refused.
 */

/**
 * The attempt counts: the task moves on (retry, or the run ends), listeners
 * and the logger are told. Returns the next attempt (queued now when
 * `queueNow`, else by the caller once this attempt's row is written), or null.
 */
export function settle(
  host: RunLifecycleHost,
  hooks: RunLifecycleHooks,
  run: Run,
  attempt: Attempt,
  queueNow: boolean,
): Run | null {
  const { task, report } = run;
  const { outcome, status, retryAtMs } = attempt;
  const base = outcome.ok && !host.hasListeners("run:success") ? undefined : eventBase(run);
  task.lastStatus = status;
  let retry: Run | null = null;
  if (retryAtMs !== null) {
    retry = scheduleRetry(hooks, run, retryAtMs, queueNow);
  } else {
    run.state = "finished";
    task.running--;
    task.runCount++;
    hooks.afterRun(task);
  }
  if (outcome.ok) report.succeeded++;
  else report.failed++;
  tellOutcome(host, run, attempt, base);
  return retry;
}

/** How an attempt's row is written: the claim released, and the task's progress with it, unless a retry follows. */
export function finishOptions(run: Run, retry: Run | null): { release: boolean; progress?: Task } {
  return retry === null ? { release: true, progress: run.task } : { release: false };
}

/**
 * The attempt failed and another follows at `atMs`: this attempt ends
 * `retried`, and the next, holding the same claim, waits (`retry-scheduled`)
 * in the queue, put there now when `queueNow`; the task still counts the
 * run running.
 */
function scheduleRetry(hooks: RunLifecycleHooks, run: Run, atMs: number, queueNow: boolean): Run {
  run.state = "retried";
  const next = new Run(run.task, run.scheduledAtMs, "retry", "retry-scheduled", run.report);
  next.attempt = run.attempt + 1;
  next.claim = run.claim;
  next.fencingToken = run.fencingToken;
  if (queueNow) hooks.queueRetry(next, atMs);
  return next;
}
