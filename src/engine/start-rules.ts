import type { Claim } from "../store/store.js";
import { graceMs } from "./due-rules.js";
import type { Run } from "./run.js";

/** What the rules of starting a claimed run read (see RunStartHost). */
export interface StartRulesHost {
  readonly leaseMs: number;
  /** Shared stores: how long the lease of a claim has left by this node's clocks, in ms. */
  leaseLeftMs?(claim: Claim): number;
}

/**
 * Why a claimed run must not start now, or null: the scheduler is stopping;
 * a scheduled run was claimed past its grace and the misfire policy drops
 * it (`run-once` still runs it when no later occurrence is due yet,
 * `run-all` always does); its lease has less than a quarter left. Phase 2's
 * check after the claim (`RunStarter`).
 */
export function whyNotStart(
  host: StartRulesHost,
  run: Run,
  nowMs: number,
  stopping: boolean,
): string | null {
  if (stopping) return "the scheduler stopped before it could start";
  if (run.trigger === "schedule") {
    const { options } = run.task;
    const lateMs = nowMs - run.scheduledAtMs;
    const grace = graceMs(options);
    if (lateMs > grace && options.misfire !== "run-all") {
      const following = run.task.schedule.next(run.scheduledAtMs);
      if (options.misfire === "skip" || (following !== null && following <= nowMs)) {
        return `claimed ${Math.round(lateMs)} ms after its time, past its grace of ${grace} ms (misfire: ${options.misfire})`;
      }
    }
  }
  const { claim } = run;
  if (claim !== null && host.leaseLeftMs !== undefined) {
    const left = host.leaseLeftMs(claim);
    if (left < host.leaseMs / 4) {
      return `its lease had ${Math.round(left)} ms left of ${host.leaseMs} ms when it could start`;
    }
  }
  return null;
}
