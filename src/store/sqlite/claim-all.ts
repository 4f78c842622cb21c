import { randomUUID } from "node:crypto";
import type { Clock } from "../../time/clock.js";
import { MAX_RUNS_REACHED, type ClaimOutcome, type ClaimRequest } from "../store.js";
import type { Connection } from "./connection.js";
import { claimOf, type ClaimRow } from "./rows.js";

/**
 * Claims in one transaction (the caller's), each with a fencing token of a block taken at once; a
 * `maxRuns` claim is counted in `run_counts` while below the limit.
 */
export function claimAll(
  c: Connection,
  requests: readonly ClaimRequest[],
  clock: Clock,
): ClaimOutcome[] {
  const last = (c.statements.takeTokens.get({ count: requests.length }) as { last: number }).last;
  let token = last - requests.length;
  const claimedAt = clock.nowMs();
  return requests.map((request) => {
    const { maxRuns } = request;
    if (maxRuns !== undefined) {
      // The transaction holds the write lock: the count cannot move under this claim.
      const counted = c.statements.selectRunsStarted.get(request.taskName) as
        { started: number } | undefined;
      if ((counted?.started ?? 0) >= maxRuns) return MAX_RUNS_REACHED;
    }
    const exclusive = request.exclusive === true;
    const params = {
      id: randomUUID(),
      taskName: request.taskName,
      scheduledAt: request.scheduledAt,
      nodeId: request.nodeId,
      claimedAt,
      leaseExpiresAt: claimedAt + request.leaseMs,
      exclusive: exclusive ? 1 : 0,
      token: ++token,
    };
    const statement =
      request.manual === true ? c.statements.claimManualRun : c.statements.claimScheduledRun;
    const row = statement.get(params) as ClaimRow | undefined;
    if (row === undefined) return null;
    const claim = claimOf(row);
    if (exclusive && row.exclusive === 0) return { ...claim, overlapping: true };
    if (maxRuns !== undefined) c.statements.countRunStarted.run(request.taskName);
    return claim;
  });
}
