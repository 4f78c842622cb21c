import type { Pool } from "pg";
import { StoreError } from "../../errors.js";
import { MAX_RUNS_REACHED, type ClaimOutcome } from "../store.js";
import { claimOf, type ClaimRow } from "./rows.js";
import { checkOut } from "./check-out.js";

/** The statements a counted claim runs, rendered for one schema. */
export interface CountedClaimQueries {
  readonly lockRunCount: string;
  readonly claimRuns: string;
  readonly countRunStarted: string;
}

/**
 * Claims one run of a task with a finite `maxRuns` in a transaction of its
 * own: the task's count of runs started is locked first (so concurrent
 * claims of the task, on any node, wait for each other), the claim is made
 * only while the count is below `maxRuns`, and a won claim (not
 * `overlapping`) raises the count before the commit. Only such tasks pay for
 * it; every other claim goes through the batched statement.
 */
export async function claimCounted(
  pool: Pool,
  queries: CountedClaimQueries,
  request: {
    readonly taskName: string;
    readonly maxRuns: number;
    readonly params: unknown[];
    /** Takes the task's slot lock (slot-locks.ts), first in the transaction. */
    readonly lockSlots: string;
  },
  schema: string,
): Promise<ClaimOutcome> {
  let client;
  try {
    client = await checkOut(pool);
  } catch (error) {
    throw failure(schema, error);
  }
  try {
    await client.query("begin");
    await client.query(request.lockSlots);
    const counted = await client.query<{ started: number }>(queries.lockRunCount, [
      request.taskName,
    ]);
    if ((counted.rows[0]?.started ?? 0) >= request.maxRuns) {
      await client.query("rollback");
      client.release();
      return MAX_RUNS_REACHED;
    }
    const row = (await client.query<ClaimRow>(queries.claimRuns, request.params)).rows[0];
    if (row !== undefined && row.overlapping !== true)
      await client.query(queries.countRunStarted, [request.taskName]);
    await client.query("commit");
    client.release();
    return row === undefined ? null : claimOf(row);
  } catch (error) {
    // A connection in an unknown state is not given back to the pool.
    client.release(error instanceof Error ? error : true);
    throw failure(schema, error);
  }
}

function failure(schema: string, error: unknown): StoreError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError(`PostgreSQL store (schema ${schema}): claimCounted failed: ${reason}`, {
    cause: error,
  });
}
