/**
 * The finishing writes of the SQLite store (`Store.finishRun`, `finishRuns`):
 * each history row written only while its node still holds the claim, the
 * claim released with it unless a retry follows, and the tasks' progress
 * after their runs, all inside the caller's one transaction.
 */
import type { FinishRequest, TaskProgress } from "../store.js";
import type { Connection } from "./connection.js";
import { runParams } from "./rows.js";

/**
 * Finishes `finishes` in order; then writes each task's progress from its
 * last finish whose row was written. Returns, per finish, whether its row was.
 */
export function finishAll(
  c: Connection,
  finishes: readonly FinishRequest[],
  nowMs: number,
): boolean[] {
  const progress = new Map<string, TaskProgress>();
  const written = finishes.map(({ record, claim, release, progress: p }) => {
    if (c.statements.selectHeldClaim.get({ id: claim.id, nodeId: claim.nodeId }) === undefined)
      return false;
    c.statements.insertRun.run(runParams(record));
    if (release) c.release(claim.id);
    else c.statements.clearAttemptNode.run(claim.id);
    if (p !== undefined) progress.set(record.taskName, p);
    return true;
  });
  for (const [name, p] of progress) {
    c.statements.updateTaskProgress.run({
      name,
      state: p.state,
      nextRunAt: p.nextRunAt,
      lastRunAt: p.lastRunAt,
      lastStatus: p.lastStatus,
      runCount: p.runCount,
      updatedAt: nowMs,
    });
  }
  return written;
}
