/** Claims: the unique grant of a run to a node, its lease, its requests and answers (part of the Store contract, re-exported by store.ts). */

/**
 * A claim on one due run, unique per (taskName, scheduledAt) across every
 * scheduler using the store: whoever gets it runs that occurrence, nobody else
 * ever does. `leaseExpiresAt` (store clock) is null for stores without leases.
 */
export interface Claim {
  readonly id: string;
  readonly taskName: string;
  readonly scheduledAt: number;
  readonly nodeId: string;
  readonly claimedAt: number;
  readonly leaseExpiresAt: number | null;
  /**
   * Grows with every claim the store grants (of any task, by any node): a
   * callback passes it to systems it writes to, which refuse a token older
   * than one they have seen (`ctx.fencingToken`).
   */
  readonly fencingToken: number;
  /**
   * True when the request was exclusive while another exclusive claim of the
   * task was held: this claim owns the run's slot, not the task. Its run must
   * not start (overlap "skip" across nodes); the holder records the run
   * skipped with `finishRun` and so releases it.
   */
  readonly overlapping?: boolean;
  /**
   * The process its attempt started outside the scheduler's process, when
   * one was recorded with {@link Store.recordProcess}: a reaped claim carries
   * it, so that whoever records the run interrupted can stop what still runs.
   */
  readonly process?: ClaimProcess;
}

/**
 * A process an attempt started outside the scheduler's process (the daemon's
 * command, in a process group of its own), as recorded on the attempt's claim.
 */
export interface ClaimProcess {
  /** The process group id: the pid of the process that leads it. */
  readonly pgid: number;
  /**
   * When that process started, as its starter identifies it, so that a pid
   * used again by another process is never taken for it (the daemon writes
   * the boot id and the start time from /proc). Opaque to stores.
   */
  readonly startTime: string;
}

/**
 * A claim of a process that died, as {@link Store.reapExpiredClaims} returns
 * it: as its dead holder had it, plus the claim the reaper now holds.
 */
export interface ReapedClaim extends Claim {
  /**
   * The same key, now held by the reaping node (a new id, fencing token and
   * lease; renewed like any claim): the run's `interrupted` row is written
   * under it with `finishRun`, and its retry, if any, runs under it.
   */
  readonly takenOver: Claim;
}

/** The lease a claim taken over by a reap gets when none is asked for, in ms. */
export const REAP_LEASE_DEFAULT_MS = 30_000;

/** A claim as the attempt made under it knows it (`ctx.taskName`, `ctx.fencingToken`). */
export interface ClaimRef {
  readonly taskName: string;
  readonly nodeId: string;
  readonly fencingToken: number;
}

/** Parameters of {@link Store.claimRun}. */
export interface ClaimRequest {
  readonly taskName: string;
  readonly scheduledAt: number;
  readonly nodeId: string;
  /** Lease length; shared stores expire the claim after it unless renewed. */
  readonly leaseMs: number;
  /**
   * A run started by `triggerTask`: unique by its own id rather than by
   * (taskName, scheduledAt), so two triggers in one millisecond both run.
   */
  readonly manual?: boolean;
  /**
   * Hold the task, not only the run: at most one unreleased exclusive claim
   * per task exists at any time (overlap "skip" across every process sharing
   * the store). While another one is held (even one whose lease expired but
   * that was not reaped yet), the run's slot is still claimed, and the claim
   * comes back `overlapping`: the run is skipped, recorded by this claimant.
   * @defaultValue false
   */
  readonly exclusive?: boolean;
  /**
   * The task's `maxRuns`, sent with the first attempt of a run of a task
   * whose `maxRuns` is finite (never with a retry: a retry is the same run).
   * The claim then also counts the run toward it, for every process sharing
   * the store, in the claim's own transaction and only while the count is
   * below it; once reached the answer is {@link MAX_RUNS_REACHED}. A claim
   * that comes back `overlapping` is not counted (its run does not start).
   */
  readonly maxRuns?: number;
}

/** A claim refused because its task's `maxRuns` runs were started already (by any process). */
export const MAX_RUNS_REACHED: { readonly maxRunsReached: true } = Object.freeze({
  maxRunsReached: true,
});

/** What a claim request gets: the claim, null (someone else has the run), or {@link MAX_RUNS_REACHED}. */
export type ClaimOutcome = Claim | typeof MAX_RUNS_REACHED | null;

/**
 * What a store answers to a request of type `R`: a request that cannot carry
 * `maxRuns` gets a claim or null, one that may gets a {@link ClaimOutcome}.
 */
export type ClaimAnswer<R extends ClaimRequest> = "maxRuns" extends keyof R
  ? ClaimOutcome
  : Claim | null;

/** A claim request without `maxRuns`: its answer is a claim or null. */
export type PlainClaimRequest = Omit<ClaimRequest, "maxRuns">;

/** The claim itself, or null for either refusal. */
export function claimOrNull(outcome: ClaimOutcome | undefined): Claim | null {
  return outcome === undefined || outcome === null || isMaxRunsReached(outcome) ? null : outcome;
}

export function isMaxRunsReached(
  outcome: ClaimOutcome | undefined,
): outcome is typeof MAX_RUNS_REACHED {
  return outcome === MAX_RUNS_REACHED;
}
