import { MAX_TIMEOUT_MS } from "../time/timer-loop.js";

const DAY_MS = 86_400_000;

/**
 * The ranges of a task's durations, in ms, checked once when a task is
 * registered (`registerTask` throws InvalidArgumentError outside them), so
 * that no value can overflow a timer or push an instant out of `Date`'s range.
 */
export const TASK_LIMITS = Object.freeze({
  /** `timeoutMs`: Node's timers fire at once beyond 2^31−1 ms (about 24.9 days). */
  maxTimeoutMs: MAX_TIMEOUT_MS,
  /** `retries.backoffMs` and `retries.maxBackoffMs`: 30 days. */
  maxBackoffMs: 30 * DAY_MS,
  /** `misfireGraceMs`: 30 days. */
  maxMisfireGraceMs: 30 * DAY_MS,
  /** `jitterMs`: 30 days. */
  maxJitterMs: 30 * DAY_MS,
  /** `{ every }`: 1 ms (a schedule file asks for at least 1 s). */
  minEveryMs: 1,
  /** `{ every }`: 366 days. */
  maxEveryMs: 366 * DAY_MS,
});
