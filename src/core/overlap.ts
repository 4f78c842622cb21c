/**
 * What happens when a run falls due while the same task is still running:
 * `skip` (default) records the new run as skipped, `queue` runs it after the
 * current one, `allow` runs it at once, concurrently.
 */
export type OverlapPolicy = "skip" | "queue" | "allow";

/** The overlap policies, for validation and help texts. */
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = Object.freeze(["skip", "queue", "allow"]);

/** The most runs a `queue` task keeps waiting; further ones are skipped so memory stays bounded. */
export const MAX_QUEUED_RUNS = 1_000;

/** The decision for one due run: start it now, queue it behind the running one, or skip it. */
export type OverlapDecision = "run" | "queue" | "skip";

/**
 * Decides what to do with a due run of a task that has `running` runs in
 * flight and `queued` runs waiting. Pure.
 */
export function decideOverlap(
  policy: OverlapPolicy,
  running: number,
  queued: number,
): OverlapDecision {
  if (running === 0 && queued === 0) return "run";
  switch (policy) {
    case "allow":
      return "run";
    case "queue":
      return queued < MAX_QUEUED_RUNS ? "queue" : "skip";
    case "skip":
      return "skip";
  }
}
