import type { WorkShare } from "../leasing/work-share.js";
import type { ClaimOutcome, ClaimRequest } from "../store/store.js";
import type { Run } from "./run.js";

/** The work share as phase 2 uses it: ownership, and the claim of runs taken over. */
export interface TakeoverShare extends WorkShare {
  /** Claims those of `requests` nobody claimed yet (see `LeasedStore.takeOver`). */
  takeOver(requests: readonly ClaimRequest[]): Promise<ClaimOutcome[]>;
  /**
   * True when this node holds a claim taken ahead for the run (the task was
   * its own when it looked ahead). Absent: none is ever held.
   */
  heldAhead?(taskName: string, scheduledAtMs: number): boolean;
}

/** The claim request of a due run, by node `host.nodeId` with a lease of `host.leaseMs`. */
export function claimRequestOf(
  run: Run,
  host: { readonly nodeId: string; readonly leaseMs: number },
): ClaimRequest {
  const { maxRuns } = run.task.options;
  return {
    taskName: run.taskName,
    scheduledAt: run.scheduledAtMs,
    nodeId: host.nodeId,
    leaseMs: host.leaseMs,
    manual: run.trigger === "manual",
    // Counted across every process sharing the store; a retry is the same run.
    ...(Number.isFinite(maxRuns) && run.attempt === 1 ? { maxRuns } : {}),
  };
}

/**
 * Which runs of a batch are shared: scheduled (and catch-up) first attempts
 * not claimed yet. Manual triggers run on the node asked; retries hold their
 * run's claim already.
 */
function shared(run: Run): boolean {
  return run.state === "due" && run.trigger !== "manual" && run.attempt === 1;
}

/**
 * True when the run is another node's to claim now: shared, of a task this
 * node does not own, and not claimed ahead here. A claim held is this
 * node's to run whatever the view says since it was taken (the owner's
 * claim is then refused): left to the owner, nobody would run it.
 */
function othersNow(run: Run, share: TakeoverShare): boolean {
  return (
    shared(run) &&
    !share.owns(run.taskName) &&
    share.heldAhead?.(run.taskName, run.scheduledAtMs) !== true
  );
}

/**
 * Splits a batch into the runs this node claims now (its own share, the runs
 * it claimed ahead, and everything not shared) and the runs of tasks another live node owns, to
 * be taken over only if nobody claimed them after the takeover delay. Null
 * when this node claims all of them now (the common case, without copies).
 */
export function splitByShare(
  runs: readonly Run[],
  share: TakeoverShare,
): { readonly now: Run[]; readonly later: Run[] } | null {
  let first = -1;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i] as Run;
    if (othersNow(run, share)) {
      first = i;
      break;
    }
  }
  if (first < 0) return null;
  const now = runs.slice(0, first);
  const later: Run[] = [];
  for (let i = first; i < runs.length; i++) {
    const run = runs[i] as Run;
    if (othersNow(run, share)) later.push(run);
    else now.push(run);
  }
  return { now, later };
}

/**
 * The waits of runs to take over: each one ends after the takeover delay,
 * or at once when the scheduler stops (those runs are left to their owner).
 */
export class TakeoverWaits {
  readonly #waking = new Set<() => void>();

  /** Resolves after `delayMs`, or when {@link wakeAll} is called. */
  wait(delayMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waking.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, delayMs);
      this.#waking.add(wake);
    });
  }

  /** Ends every wait now. */
  wakeAll(): void {
    for (const wake of [...this.#waking]) wake();
  }
}
