import { shouldRetry } from "../core/retry.js";
import type { Task } from "../core/task.js";
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Claim, RunRecord, Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What recovering interrupted runs needs from the Scheduler. */
export interface RecoveryHost {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly leaseMs: number;
  task(name: string): Task | undefined;
  /** Puts a retry of an interrupted run in the heap, due at `atMs`, under `claim` (a manual claim). */
  retryInterrupted(
    task: Task,
    scheduledAtMs: number,
    attempt: number,
    claim: Claim,
    atMs: number,
  ): void;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
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

/** How far back the history is read to find the attempts a reaped claim already made. */
const ATTEMPT_LOOKBACK_ROWS = 200;

/**
 * Finds runs whose process died while they were in flight (claims reaped by
 * the store: expired leases of any node, and at start every unreleased claim
 * of this node id), records each as `interrupted` and, when the task's retry
 * policy allows another attempt, retries it at once under a new manual claim
 * (a reaped (task, scheduled time) can never be claimed again). Never throws:
 * store failures become `scheduler:error` events. Resolves with the number of
 * interrupted runs found.
 */
export async function recoverInterruptedRuns(
  host: RecoveryHost,
  atStart: boolean,
): Promise<number> {
  let claims: Claim[];
  try {
    claims = await host.store.reapExpiredClaims({ nodeId: host.nodeId, atStart });
  } catch (error) {
    host.emit("scheduler:error", { error, context: "reap" });
    return 0;
  }
  // What the dead attempts left running is dealt with first: no retry starts beside it.
  const notes = await notesBeforeRecovery(host, claims);
  // The claims are released already and their rows not yet written: a process killed now
  // leaves those runs with no row. So they are recorded at once, not one round trip after
  // another; in order within one occurrence, whose attempts follow one another.
  const byOccurrence = new Map<string, Claim[]>();
  for (const claim of claims) {
    const key = `${claim.taskName}\u0000${claim.scheduledAt}`;
    byOccurrence.set(key, [...(byOccurrence.get(key) ?? []), claim]);
  }
  await Promise.all(
    [...byOccurrence.values()].map(async (occurrence) => {
      for (const claim of occurrence) {
        try {
          await recoverOne(host, claim, notes.get(claim.id));
        } catch (error) {
          host.emit("scheduler:error", { error, context: "recover", taskName: claim.taskName });
        }
      }
    }),
  );
  return claims.length;
}

/**
 * Records the run of a released claim as `interrupted`, with `message` as its
 * error, as the attempt after every attempt history has for its occurrence.
 * Resolves with that attempt number.
 */
export async function recordInterrupted(
  store: Store,
  claim: Claim,
  finishedAtMs: number,
  message: string,
): Promise<number> {
  const rows = await store.history({ taskName: claim.taskName, limit: ATTEMPT_LOOKBACK_ROWS });
  // The attempt cut short follows every attempt history has for this occurrence (a retry
  // of an interrupted run holds a new claim, so match on the scheduled time, not the claim).
  let attempt = 1;
  for (const row of rows) {
    if (row.scheduledAt !== claim.scheduledAt) continue;
    // Not attempts: a skip, a miss, and a `lost` row (the late result of the very attempt
    // interrupted here, written by the node that lost the claim).
    if (row.status === "skipped" || row.status === "missed" || row.status === "lost") continue;
    attempt = Math.max(attempt, row.attempt + 1);
  }
  const record: RunRecord = {
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
  await store.recordRun(record);
  return attempt;
}

async function recoverOne(
  host: RecoveryHost,
  claim: Claim,
  note: string | undefined,
): Promise<void> {
  const { store } = host;
  const why =
    claim.nodeId === host.nodeId
      ? `the run was in flight when the previous process of node ${JSON.stringify(claim.nodeId)} stopped`
      : `the lease of node ${JSON.stringify(claim.nodeId)} on this run expired (the process died or stalled)`;
  const attempt = await recordInterrupted(
    store,
    claim,
    host.clock.nowMs(),
    note === undefined ? why : `${why}; ${note}`,
  );
  const task = host.task(claim.taskName);
  const retry =
    task !== undefined &&
    !task.removed &&
    task.state !== "quarantined" &&
    shouldRetry(task.options.retries, attempt, undefined);
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
  const again = await store.claimRun({
    taskName: claim.taskName,
    scheduledAt: claim.scheduledAt,
    nodeId: host.nodeId,
    leaseMs: host.leaseMs,
    manual: true,
  });
  if (again === null) return; // another run of the task holds it (overlap "skip" across processes)
  host.retryInterrupted(task, claim.scheduledAt, attempt + 1, again, host.clock.nowMs());
}
