import type { Dispatcher } from "../core/dispatcher.js";
import type { TaskCallback } from "../core/task.js";
import type { Claim } from "../store/store.js";
import type { RunLifecycleHost } from "./run-lifecycle-host.js";
import type { TakeoverShare } from "./run-takeover.js";

/** What phase 2 needs from the Scheduler. */
export interface RunStartHost extends RunLifecycleHost {
  readonly dispatcher: Dispatcher;
  readonly leaseMs: number;
  /**
   * Shared stores: sends the claims of `runs` due runs, waiting while the
   * store is unusable (and reporting the outage itself, once).
   */
  readonly claimGate?: <T>(call: () => Promise<T>, runs: number) => Promise<T>;
  /**
   * Nodes sharing the work: runs of tasks another live node owns are claimed
   * here only by taking them over, when nobody claimed them after the
   * takeover delay.
   */
  readonly share?: TakeoverShare;
  /** Shared stores: how long the lease of a claim has left by this node's clocks, in ms. */
  leaseLeftMs?(claim: Claim): number;
  handler(name: string): TaskCallback | undefined;
}
