/**
 * What happens to runs that were missed (process down, machine asleep, clock
 * jumped, event loop blocked past the grace period): `run-once` (default) runs
 * one catch-up run, the latest missed one; `skip` runs none; `run-all` runs
 * them all, oldest first, bounded by `maxCatchUpRuns` (the most recent ones).
 */
export type MisfirePolicy = "run-once" | "skip" | "run-all";

/** The misfire policies, for validation and help texts. */
export const MISFIRE_POLICIES: readonly MisfirePolicy[] = Object.freeze([
  "run-once",
  "skip",
  "run-all",
]);

/** At most this many occurrences are walked one by one; beyond it the plan jumps with `prev`/`next`. */
export const MISFIRE_WALK_LIMIT = 1_000;
/** At most this many missed scheduled times are listed (the count is still given). */
export const MISSED_LIST_LIMIT = 100;

/** Input of {@link planDueRuns}. All times in epoch ms. */
export interface MisfireInput {
  /** The earliest occurrence not yet handled; it is due (`<= nowMs`). */
  firstDueMs: number;
  nowMs: number;
  policy: MisfirePolicy;
  /** A run later than this (after its scheduled time) counts as missed. */
  graceMs: number;
  maxCatchUpRuns: number;
  /** No occurrence after this instant is considered (the task's `endAt`). */
  endMs: number;
  /** The first occurrence strictly after `ms`, or null. */
  next(ms: number): number | null;
  /** The last occurrence strictly before `ms`, or null. */
  prev(ms: number): number | null;
}

/** The outcome of {@link planDueRuns}. */
export interface MisfirePlan {
  /** Scheduled times to run now, oldest first. */
  run: number[];
  /** Missed scheduled times that will not run, oldest first, at most {@link MISSED_LIST_LIMIT}. */
  missed: number[];
  /** How many occurrences were missed in all (a lower bound when `missedIsLowerBound`). */
  missedCount: number;
  missedIsLowerBound: boolean;
  /** The last missed occurrence (NaN when none was missed); the first is `missed[0]`. */
  missedThroughMs: number;
  /** The next occurrence after `nowMs` (within `endMs`), or null when there is none. */
  nextMs: number | null;
}

function within(ms: number | null, endMs: number): number | null {
  return ms !== null && ms <= endMs ? ms : null;
}

/**
 * Decides which due occurrences of one task to run, which are missed, and
 * where the schedule continues. One occurrence due within `graceMs` is a
 * normal run. Otherwise: the latest due occurrence is run by `run-once`, and
 * by `skip` only if it is within grace; `run-all` runs up to
 * `maxCatchUpRuns` of the latest ones. Pure.
 */
export function planDueRuns(input: MisfireInput): MisfirePlan {
  const { nowMs, graceMs, endMs } = input;
  const due: number[] = [];
  let cursor: number | null = within(input.firstDueMs, endMs);
  while (cursor !== null && cursor <= nowMs && due.length < MISFIRE_WALK_LIMIT) {
    due.push(cursor);
    cursor = within(input.next(cursor), endMs);
  }
  let truncated = false;
  let latest = due[due.length - 1];
  let nextMs = cursor;
  if (cursor !== null && cursor <= nowMs) {
    // Too many to walk: jump to the end of the backlog.
    truncated = true;
    const limit = Math.min(nowMs, endMs);
    const last = input.prev(limit + 1);
    latest = last ?? latest;
    nextMs = within(input.next(nowMs), endMs);
  }
  if (latest === undefined)
    return {
      run: [],
      missed: [],
      missedCount: 0,
      missedIsLowerBound: false,
      missedThroughMs: Number.NaN,
      nextMs,
    };

  if (!truncated && due.length === 1 && nowMs - latest <= graceMs) {
    return {
      run: [latest],
      missed: [],
      missedCount: 0,
      missedIsLowerBound: false,
      missedThroughMs: Number.NaN,
      nextMs,
    };
  }

  let run: number[];
  switch (input.policy) {
    case "skip":
      run = nowMs - latest <= graceMs ? [latest] : [];
      break;
    case "run-once":
      run = [latest];
      break;
    case "run-all": {
      const bound = Math.max(1, input.maxCatchUpRuns);
      if (!truncated) {
        run = due.slice(-bound);
      } else {
        run = [latest];
        let back: number | null = latest;
        while (run.length < bound && (back = input.prev(back)) !== null && back >= input.firstDueMs)
          run.unshift(back);
      }
      break;
    }
  }
  const firstRun = run[0];
  const missed = due
    .filter((ms) => firstRun === undefined || ms < firstRun)
    .slice(0, MISSED_LIST_LIMIT);
  const missedCount = truncated
    ? Math.max(missed.length, due.length - run.length)
    : due.length - run.length;
  // The occurrence right before the first run (or the latest, when none runs) closes the missed range.
  const missedThroughMs =
    missedCount === 0
      ? Number.NaN
      : firstRun === undefined
        ? latest
        : (input.prev(firstRun) ?? Number.NaN);
  return { run, missed, missedCount, missedIsLowerBound: truncated, missedThroughMs, nextMs };
}
