import { setImmediate as nextTurn } from "node:timers/promises";
import { retentionBound, type HistoryRetention } from "../store.js";
import type { Connection } from "./connection.js";

/** The most history rows one retention statement deletes (one transaction each). */
export const PRUNE_BATCH_ROWS = 500;

/** Runs one write on the store's connection (its write queue), resolving with its result. */
export type SqliteWrite = <T>(fn: (connection: Connection) => T) => Promise<T>;

/**
 * Applies `retention` to the SQLite history in batches of
 * {@link PRUNE_BATCH_ROWS}, yielding to the event loop between batches, so
 * that the writes of running tasks (claims, results) go in between: by age,
 * then beyond the newest `maxRows`, then each task beyond its `keepLast`.
 * Every statement uses an index. Resolves with the number of rows deleted.
 */
export async function pruneInBatches(
  write: SqliteWrite,
  retention: HistoryRetention,
  nowMs: number,
): Promise<number> {
  let deleted = 0;
  const batches = async (one: (c: Connection) => number): Promise<void> => {
    for (;;) {
      const n = await write(one);
      deleted += n;
      if (n < PRUNE_BATCH_ROWS) return;
      await nextTurn();
    }
  };
  const batch = PRUNE_BATCH_ROWS;
  const maxAgeMs = retentionBound(retention.maxAgeMs);
  if (maxAgeMs !== null) {
    const oldest = nowMs - maxAgeMs;
    await batches((c) => c.statements.pruneAgedBatch.run({ oldest, batch }).changes);
  }
  const maxRows = retentionBound(retention.maxRows);
  if (maxRows !== null) {
    // Rows recorded meanwhile are newer than the cutoff: it holds for the whole prune.
    const through = await write((c) => cutoff(c.statements.selectRowsCutoff.get({ maxRows })));
    if (through !== undefined) {
      await batches((c) => c.statements.pruneThroughBatch.run({ through, batch }).changes);
    }
  }
  for (const [taskName, limit] of retention.keepLast ?? []) {
    const keep = retentionBound(limit);
    if (keep === null) continue;
    const through = await write((c) =>
      cutoff(c.statements.selectTaskCutoff.get({ taskName, keep })),
    );
    if (through === undefined) continue;
    await batches(
      (c) => c.statements.pruneTaskThroughBatch.run({ taskName, through, batch }).changes,
    );
  }
  return deleted;
}

function cutoff(row: unknown): number | undefined {
  return (row as { seq: number } | undefined)?.seq;
}
