import type { ResolvedTaskOptions } from "../core/task.js";

/**
 * Phase 1's timing rules, the same for runs collected at their instant and
 * for runs planned ahead of it (the planner checks them once per instant).
 */

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

/** The random delay of one run, within `jitterMs`. */
export function jitter(options: ResolvedTaskOptions): number {
  return options.jitterMs > 0 ? Math.floor(Math.random() * (options.jitterMs + 1)) : 0;
}
