import type { Schedule } from "./schedule.js";

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

/** At most this many missed scheduled times are listed (the count is still given). */
export const MISSED_LIST_LIMIT = 100;

/** What the plan asks of a schedule: a few occurrences, and counts without walking. */
export type Occurrences = Pick<Schedule, "next" | "prev" | "countBetween" | "listBetween">;

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
  /** The task's schedule. */
  schedule: Occurrences;
  /** How many missed times to list, 1 to {@link MISSED_LIST_LIMIT} (the first is always listed). @defaultValue MISSED_LIST_LIMIT */
  listLimit?: number;
}

/** The outcome of {@link planDueRuns}. */
export interface MisfirePlan {
  /** Scheduled times to run now, oldest first. */
  run: number[];
  /** Missed scheduled times that will not run, oldest first, at most {@link MISSED_LIST_LIMIT}. */
  missed: number[];
  /** How many occurrences were missed in all (exact, however many). */
  missedCount: number;
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
 *
 * Its cost does not grow with the gap: the due occurrences are counted
 * (`countBetween`), not walked; the latest is one `prev`, the one after it one
 * `next`; only the runs (`run-all`: walked back with `prev`) and the listed
 * missed times (at most {@link MISSED_LIST_LIMIT}) are produced one by one.
 */
export function planDueRuns(input: MisfireInput): MisfirePlan {
  const { firstDueMs, nowMs, graceMs, endMs, schedule } = input;
  const limitMs = Math.min(nowMs, endMs);
  if (!(firstDueMs <= limitMs)) {
    return {
      run: [],
      missed: [],
      missedCount: 0,
      missedThroughMs: Number.NaN,
      nextMs: within(firstDueMs, endMs),
    };
  }
  // The due occurrences: firstDueMs and those after it up to limitMs.
  const dueCount = 1 + schedule.countBetween(firstDueMs, limitMs);
  const latest = dueCount === 1 ? firstDueMs : (schedule.prev(limitMs + 1) ?? firstDueMs);
  const nextMs = within(schedule.next(latest), endMs);

  let run: number[];
  if (dueCount === 1 && nowMs - latest <= graceMs) {
    run = [latest];
  } else {
    switch (input.policy) {
      case "skip":
        run = nowMs - latest <= graceMs ? [latest] : [];
        break;
      case "run-once":
        run = [latest];
        break;
      case "run-all": {
        const bound = Math.min(Math.max(1, input.maxCatchUpRuns), dueCount);
        run = [latest];
        for (let back = latest; run.length < bound;) {
          const before = schedule.prev(back);
          if (before === null || before < firstDueMs) break;
          run.push(before);
          back = before;
        }
        run.reverse();
        break;
      }
    }
  }
  // The missed ones are the oldest due occurrences, before the first run.
  const missedCount = dueCount - run.length;
  if (missedCount === 0) {
    return { run, missed: [], missedCount, missedThroughMs: Number.NaN, nextMs };
  }
  const limit = Math.max(1, Math.min(input.listLimit ?? MISSED_LIST_LIMIT, MISSED_LIST_LIMIT));
  const listed = Math.min(missedCount, limit);
  const missed = [firstDueMs, ...schedule.listBetween(firstDueMs, limitMs, listed - 1)];
  const firstRun = run[0];
  // The occurrence right before the first run (or the latest, when none runs) closes the missed range.
  const missedThroughMs =
    listed === missedCount
      ? missed[listed - 1]!
      : firstRun === undefined
        ? latest
        : (schedule.prev(firstRun) ?? Number.NaN);
  return { run, missed, missedCount, missedThroughMs, nextMs };
}
