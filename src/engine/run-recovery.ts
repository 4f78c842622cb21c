import { shouldRetry } from "../core/retry.js";
import type { Task } from "../core/task.js";
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Claim, ReapedClaim, RunRecord, Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What recovering interrupted runs needs from the Scheduler. */
export interface RecoveryHost {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly leaseMs: number;
  task(name: string): Task | undefined;
  /** Puts a retry of an interrupted run in the heap, due at `atMs`, under `claim` (the claim taken over). */
  retryInterrupted(
    task: Task,
    scheduledAtMs: number,
    attempt: number,
    claim: Claim,
    atMs: number,
  ): void;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
  /**
   * Writes a run's `interrupted` row under the claim taken over, releasing
   * it unless `release` is false (see `RunRecorder.finish`: a failed write
   * leaves the claim to expire, to be reaped again). Resolves whether written.
   */
  finish(record: RunRecord, claim: Claim, options: { readonly release: boolean }): Promise<boolean>;
  /**
   * Stops renewing a claim taken over whose run could not be recorded (the
   * store failed before the row was written): it expires and is reaped again.
   */
  abandon?(claim: Claim): void;
  /** See `SchedulerOptions.beforeRecovery`: awaited before the runs are recorded and retried. */
  readonly beforeRecovery?: BeforeRecovery;
}

/**
 * Told the claims of runs found interrupted before they are recorded and
 * retried; resolves with a sentence per claim id for its `interrupted` row.
 */
export type BeforeRecovery = (claims: readonly Claim[]) => Promise<ReadonlyMap<string, string>>;

/** The hook's notes; never rejects (a failure is a `scheduler:error`, and no notes). */
async function notesBeforeRecovery(
  host: RecoveryHost,
  claims: readonly Claim[],
): Promise<ReadonlyMap<string, string>> {
  if (host.beforeRecovery === undefined || claims.length === 0) return new Map();
  try {
    return await host.beforeRecovery(claims);
  } catch (error) {
    host.emit("scheduler:error", { error, context: "recover" });
    return new Map();
  }
}

/**
 * Occurrences recovered at once. Past saturation leases expire faster than
 * they are renewed and a reap takes thousands of claims over; recovering
 * them all at once held each one's history read (up to
 * {@link ATTEMPT_LOOKBACK_ROWS} rows) in memory together: 9,829 at once in a
 * heap snapshot of a node that later ran out of heap.
 */
export const RECOVERY_CONCURRENCY = 64;

/** How far back the history is read to find the attempts a reaped claim already made. */
const ATTEMPT_LOOKBACK_ROWS = 200;

/**
 * Finds runs whose process died while they were in flight (claims the store
 * takes over for this node: expired leases of any node, and at start every
 * unreleased claim of this node id), records each as `interrupted` under the
 * claim taken over (which releases it in the same write) and, when the
 * task's retry policy allows another attempt, keeps that claim for the
 * retry, started at once. Never throws: store failures become
 * `scheduler:error` events (a claim whose row could not be written expires
 * and is reaped again). Resolves with the number of interrupted runs found.
 */
export async function recoverInterruptedRuns(
  host: RecoveryHost,
  atStart: boolean,
): Promise<number> {
  let claims: ReapedClaim[];
  try {
    claims = await host.store.reapExpiredClaims({
      nodeId: host.nodeId,
      atStart,
      leaseMs: host.leaseMs,
    });
  } catch (error) {
    host.emit("scheduler:error", { error, context: "reap" });
    return 0;
  }
  // What the dead attempts left running is dealt with first: no retry starts beside it.
  const notes = await notesBeforeRecovery(host, claims);
  // In order within one occurrence, whose attempts follow one another.
  const byOccurrence = new Map<string, ReapedClaim[]>();
  for (const claim of claims) {
    const key = `${claim.taskName}\u0000${claim.scheduledAt}`;
    byOccurrence.set(key, [...(byOccurrence.get(key) ?? []), claim]);
  }
  // A bounded number of occurrences at a time: the claims taken over keep their leases
  // meanwhile (renewed like any held claim).
  const occurrences = [...byOccurrence.values()];
  let next = 0;
  const recoverNext = async (): Promise<void> => {
    while (next < occurrences.length) {
      for (const claim of occurrences[next++] as ReapedClaim[]) {
        try {
          await recoverOne(host, claim, notes.get(claim.id));
        } catch (error) {
          // Not recorded (reading its attempts failed): left to expire and be reaped again.
          host.abandon?.(claim.takenOver);
          host.emit("scheduler:error", { error, context: "recover", taskName: claim.taskName });
        }
      }
    }
  };
  const workers = Math.min(RECOVERY_CONCURRENCY, occurrences.length);
  await Promise.all(Array.from({ length: workers }, recoverNext));
  return claims.length;
}

/**
 * The `interrupted` row of the attempt a reaped claim stood for, with
 * `message` as its error: the attempt after every attempt history has for
 * its occurrence.
 */
export async function interruptedRow(
  store: Store,
  claim: Claim,
  finishedAtMs: number,
  message: string,
): Promise<RunRecord> {
  const rows = await store.history({ taskName: claim.taskName, limit: ATTEMPT_LOOKBACK_ROWS });
  // The attempt cut short follows every attempt history has for this occurrence (a retry
  // of an interrupted run may hold another claim, so match on the scheduled time, not the claim).
  let attempt = 1;
  for (const row of rows) {
    if (row.scheduledAt !== claim.scheduledAt) continue;
    // Not attempts: a skip, a miss, and a `lost` row (the late result of the very attempt
    // interrupted here, written by the node that lost the claim).
    if (row.status === "skipped" || row.status === "missed" || row.status === "lost") continue;
    attempt = Math.max(attempt, row.attempt + 1);
  }
  return {
    taskName: claim.taskName,
    claimId: claim.id,
    scheduledAt: claim.scheduledAt,
    startedAt: claim.claimedAt,
    finishedAt: finishedAtMs,
    status: "interrupted",
    attempt,
    nodeId: claim.nodeId,
    error: { message, code: "ERR_INTERRUPTED" },
  };
}

/**
 * Records the run of a reaped claim as `interrupted` (see {@link
 * interruptedRow}) under the claim taken over, and releases that claim.
 * Resolves with the attempt recorded, or null when the claim taken over was
 * no longer held (its lease expired meanwhile and another node reaped it).
 */
export async function recordInterrupted(
  store: Store,
  claim: ReapedClaim,
  finishedAtMs: number,
  message: string,
): Promise<number | null> {
  const row = await interruptedRow(store, claim, finishedAtMs, message);
  return (await store.finishRun(row, claim.takenOver)) ? row.attempt : null;
}

async function recoverOne(
  host: RecoveryHost,
  claim: ReapedClaim,
  note: string | undefined,
): Promise<void> {
  const why =
    claim.nodeId === host.nodeId
      ? `the run was in flight when the previous process of node ${JSON.stringify(claim.nodeId)} stopped`
      : `the lease of node ${JSON.stringify(claim.nodeId)} on this run expired (the process died or stalled)`;
  const row = await interruptedRow(
    host.store,
    claim,
    host.clock.nowMs(),
    note === undefined ? why : `${why}; ${note}`,
  );
  const { attempt } = row;
  const task = host.task(claim.taskName);
  const retry =
    task !== undefined &&
    !task.removed &&
    task.state !== "quarantined" &&
    shouldRetry(task.options.retries, attempt, undefined);
  // The row and the claim's release (or, with a retry, its keeping) go together.
  if (!(await host.finish(row, claim.takenOver, { release: !retry }))) return;
  safeLog(
    host.logger,
    "warn",
    {
      taskName: claim.taskName,
      scheduledAt: new Date(claim.scheduledAt).toISOString(),
      attempt,
      nodeId: claim.nodeId,
      willRetry: retry,
    },
    `Run of task ${JSON.stringify(claim.taskName)} interrupted` + (retry ? "; retrying it" : ""),
  );
  if (!retry || task === undefined) return;
  // The retry runs under the claim taken over: nothing else can claim the run or its task meanwhile.
  host.retryInterrupted(task, claim.scheduledAt, attempt + 1, claim.takenOver, host.clock.nowMs());
}
