/**
 * The SQLite store's writes on claims besides taking (claim-all.ts),
 * finishing (finish-runs.ts), releasing and reaping (connection.ts), inside
 * the caller's write: renewing a lease, recording an attempt's process, and
 * settling the occurrences of runs that did not start.
 */
import type { Claim, ClaimProcess, ClaimRef, RunRecord } from "../store.js";
import type { Connection } from "./connection.js";
import { runParams } from "./rows.js";

/** Moves the lease on to `nowMs + leaseMs` while `claim`'s node still holds it unexpired. */
export function renewHeldLease(
  c: Connection,
  claim: Claim,
  leaseMs: number,
  nowMs: number,
): boolean {
  const row = c.statements.renewLease.get({
    id: claim.id,
    nodeId: claim.nodeId,
    leaseExpiresAt: nowMs + leaseMs,
    now: nowMs,
  });
  return row !== undefined;
}

/** Records the process group running the claim's attempt, while its node holds the claim. */
export function recordClaimProcess(c: Connection, claim: ClaimRef, process: ClaimProcess): boolean {
  const { changes } = c.statements.recordClaimProcess.run({
    taskName: claim.taskName,
    fencingToken: claim.fencingToken,
    nodeId: claim.nodeId,
    pgid: process.pgid,
    startTime: process.startTime,
  });
  return changes > 0;
}

/**
 * Records each run whose occurrences nobody claimed or settled, and settles
 * them; answers, per record, whether it was written.
 */
export function settleAll(c: Connection, records: readonly RunRecord[]): boolean[] {
  return records.map((record) => {
    const range = {
      taskName: record.taskName,
      from: record.scheduledAt,
      to: record.missedThrough ?? record.scheduledAt,
    };
    if (c.statements.selectClaimInRange.get(range) !== undefined) return false;
    if (c.statements.selectSettledInRange.get(range) !== undefined) return false;
    c.statements.insertRun.run(runParams(record));
    // Settled as a claim released at once: the mark moves to its last occurrence, and the row
    // answers for every occurrence it covers (a claim of one inside a missed range is refused).
    c.raiseMark(range.taskName, range.to);
    return true;
  });
}
