import { NonRetryableError } from "../errors.js";
import { TASK_LIMITS } from "./task-limits.js";

/** How a failed run is retried: `attempts` retries after the first failure, with exponential backoff. */
export interface RetryPolicy {
  /**
   * Retries after the first failure (0 = never retry).
   * @defaultValue 0
   */
  attempts: number;
  /**
   * Delay before the first retry, in ms.
   * @defaultValue 1000
   */
  backoffMs: number;
  /**
   * Each further delay is the previous one times `factor`.
   * @defaultValue 2
   */
  factor: number;
  /**
   * Upper bound of any delay, in ms.
   * @defaultValue 300000
   */
  maxBackoffMs: number;
}

/** The defaults of {@link RetryPolicy}: no retries. */
export const RETRY_DEFAULTS = Object.freeze({
  attempts: 0,
  backoffMs: 1_000,
  factor: 2,
  maxBackoffMs: 300_000,
} satisfies Required<RetryPolicy>);

/**
 * The delay before retry number `retry` (1 for the first retry), in ms:
 * `backoffMs * factor^(retry-1)`, capped at `maxBackoffMs` and at
 * {@link TASK_LIMITS}' `maxBackoffMs` (a record stored before that limit
 * existed could hold more: a retry due past `Date`'s range never came). Pure.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  const raw = policy.backoffMs * Math.pow(policy.factor, Math.max(0, retry - 1));
  const cap = Math.min(policy.maxBackoffMs, TASK_LIMITS.maxBackoffMs);
  return Math.min(Number.isFinite(raw) ? raw : cap, cap);
}

/**
 * True when a run that failed on attempt `attempt` (1-based) with `error`
 * should be tried again: attempts remain and the error is not a
 * {@link NonRetryableError}. Pure.
 */
export function shouldRetry(policy: RetryPolicy, attempt: number, error: unknown): boolean {
  if (error instanceof NonRetryableError) return false;
  if ((error as { code?: unknown } | null)?.code === "ERR_NON_RETRYABLE") return false;
  return attempt <= policy.attempts;
}
