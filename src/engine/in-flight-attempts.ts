import { RunContext } from "../core/run-context.js";
import type { Run } from "./run.js";

/**
 * The attempts started here and not yet finished, for cancelling them. Kept
 * by `RunLifecycle` (engine/run-lifecycle.ts), which alone adds, removes and
 * cancels through it.
 */
export class InFlightAttempts {
  readonly #runs = new Set<Run>();

  add(run: Run): void {
    this.#runs.add(run);
  }

  delete(run: Run): void {
    this.#runs.delete(run);
  }

  /**
   * Marks the attempts of `taskName` cancelled and aborts their context with
   * `reason`. Returns how many were cancelled.
   */
  cancel(taskName: string, reason: unknown): number {
    let cancelled = 0;
    for (const run of this.#runs) {
      if (run.taskName !== taskName || run.cancelReason !== undefined) continue;
      run.cancelReason = reason;
      (run.context ??= new RunContext(run)).abort(reason);
      cancelled++;
    }
    return cancelled;
  }
}
