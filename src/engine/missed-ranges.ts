import type { Task } from "../core/task.js";
import type { RunKey, RunRecord } from "../store/store.js";

/** The most occurrences of a refused missed row recorded in parts instead. */
export const MAX_MISSED_SPLIT = 1_000;

/** What recording a refused missed range in parts needs (see {@link settleAroundClaimed}). */
export interface MissedRangeWrites {
  /** The missed row of `count` occurrences, `firstMs` to `lastMs`. */
  row(firstMs: number, lastMs: number, count: number): RunRecord;
  /** Settles a row: true written, false refused (an occurrence was claimed), undefined failed. */
  settle(record: RunRecord): Promise<boolean | undefined>;
  /** `Store.takenRuns`, when the store can tell which runs were claimed. */
  takenRuns?(keys: readonly RunKey[]): Promise<boolean[]>;
}

/**
 * A missed row of `count` occurrences of `task` from `firstMs` through
 * `lastMs` was refused because some of them were claimed (another node ran
 * them, or holds or reaped their claims): records the others, so that none
 * is left without a row. The free stretches are read from the store in one
 * read (`takenRuns`) and each settled as a range; without that read, or for
 * a stretch refused again (claimed meanwhile), by halving. Under overload
 * another node takes over most of what a held-back task did not claim:
 * halving alone then wrote about a row per occurrence, a heap of waiting
 * settles on both nodes, where the free stretches are few.
 */
export async function settleAroundClaimed(
  writes: MissedRangeWrites,
  task: Task,
  firstMs: number,
  lastMs: number,
  count: number,
): Promise<void> {
  if (count <= 1 || count > MAX_MISSED_SPLIT) return;
  const times: number[] = [];
  for (let at: number | null = firstMs; at !== null && at <= lastMs; at = task.schedule.next(at)) {
    times.push(at);
    if (times.length === count) break;
  }
  const free = await freeStretches(writes, task.name, times);
  if (free === undefined) return settleHalves(writes, times, 0, times.length);
  await Promise.all(free.map(([from, to]) => settleRange(writes, times, from, to)));
}

/** The stretches `[from, to)` of `times` nobody claimed or recorded; undefined when the store cannot tell. */
async function freeStretches(
  writes: MissedRangeWrites,
  taskName: string,
  times: readonly number[],
): Promise<[number, number][] | undefined> {
  if (writes.takenRuns === undefined) return undefined;
  let taken: boolean[];
  try {
    taken = await writes.takenRuns(times.map((scheduledAt) => ({ taskName, scheduledAt })));
  } catch {
    return undefined;
  }
  const stretches: [number, number][] = [];
  let from = -1;
  for (let i = 0; i <= times.length; i++) {
    const free = i < times.length && taken[i] !== true;
    if (free && from < 0) from = i;
    else if (!free && from >= 0) {
      stretches.push([from, i]);
      from = -1;
    }
  }
  return stretches;
}

/** Settles `times[from..to)` as one range; while refused, in halves. */
async function settleRange(
  writes: MissedRangeWrites,
  times: readonly number[],
  from: number,
  to: number,
): Promise<void> {
  const count = to - from;
  if (count === 0) return;
  const written = await writes.settle(
    writes.row(times[from] as number, times[to - 1] as number, count),
  );
  if (written === false && count > 1) await settleHalves(writes, times, from, to);
}

/**
 * `times[from..to)` was refused as one range: each half is settled as a
 * range, and split again while refused. With k of n occurrences claimed
 * elsewhere this writes O(k log n) rows, where a row per occurrence would
 * add n rows for the store to take just when it is behind.
 */
async function settleHalves(
  writes: MissedRangeWrites,
  times: readonly number[],
  from: number,
  to: number,
): Promise<void> {
  const middle = (from + to) >>> 1;
  await Promise.all([
    settleRange(writes, times, from, middle),
    settleRange(writes, times, middle, to),
  ]);
}
