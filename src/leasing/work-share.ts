/**
 * Which due runs this node claims at their instant, when the nodes sharing a
 * store share the work (`cluster/work-share.ts` implements it over the live
 * members). Claiming ahead and phase 2 ask it; claim uniqueness stays the
 * safety net, so a wrong answer costs latency, never a double run.
 */
export interface WorkShare {
  /**
   * True when this node owns `taskName` by the current membership: it claims
   * the task's scheduled runs at their instant (and ahead of it). A node
   * that does not own a task claims its runs only by taking them over.
   */
  owns(taskName: string): boolean;
  /**
   * True when this node is the task's backup among the live nodes (the
   * second in the task's rendezvous order): it takes over the task's runs
   * first, after the takeover delay; its third node waits twice as long,
   * so that two nodes rarely race for the same run (see {@link takesOver}).
   */
  backs(taskName: string): boolean;
  /**
   * How long after it was due a run of a task this node backs is looked at
   * again, in ms: if nobody claimed it by then, this node claims it (takes
   * it over). The task's third node waits twice as long.
   */
  readonly takeoverDelayMs: number;
  /**
   * True when this node is among the three first of the task's rendezvous
   * order over the live nodes (owner, backup, third). A node past them does
   * not look at the task's runs again after twice the takeover delay (no
   * read of the store) unless one of the three left its view meanwhile:
   * while they are live one of them claims the run, and every node reading
   * every run made the store's work per run grow with the nodes. Absent:
   * every node looks.
   */
  takesOver?(taskName: string): boolean;
  /** A takeover found runs nobody had claimed: their owner may be dead; look at membership again soon. */
  suspect?(): void;
}

/**
 * The takeover delay for a lease of `leaseMs`: a quarter of the lease, at
 * most 500 ms. Long enough for an owner to have claimed an instant's runs
 * (it claims them ahead, or in one batch at the instant: tens of ms), short
 * enough that a run taken over still starts within the default misfire grace
 * (1 s) rather than being recorded missed, and far inside `leaseMs` + 1 s.
 */
export function takeoverDelayMs(leaseMs: number): number {
  return Math.max(1, Math.min(500, Math.floor(leaseMs / 4)));
}
