import { RunContext } from "../core/run-context.js";
import type { Run } from "./run.js";

/**
 * The attempts started here and not yet finished, for cancelling them. Kept
 * by `RunLifecycle` (engine/run-lifecycle.ts), which alone adds, removes and
 * cancels through it.
 */
export class InFlightAttempts {
  /**
   * An array, each run knowing its slot (`Run.inFlightSlot`), not a Set: a
   * burst adds a hundred thousand runs one after another in the path of its
   * callbacks, and hashing each into a growing Set cost 250 ns a run.
   */
  readonly #runs: Run[] = [];

  add(run: Run): void {
    if (run.inFlightSlot >= 0) return;
    run.inFlightSlot = this.#runs.length;
    this.#runs.push(run);
  }

  delete(run: Run): void {
    const slot = run.inFlightSlot;
    if (slot < 0) return;
    run.inFlightSlot = -1;
    const runs = this.#runs;
    const last = runs.pop() as Run;
    if (last === run) return;
    runs[slot] = last;
    last.inFlightSlot = slot;
  }

  /**
   * Marks the attempts of `taskName` cancelled and aborts their context with
   * `reason`. Returns how many were cancelled.
   */
  cancel(taskName: string, reason: unknown): number {
    let cancelled = 0;
    // A copy: an abort may end an attempt, which moves another into its slot.
    for (const run of this.#runs.slice()) {
      if (run.taskName !== taskName || run.cancelReason !== undefined) continue;
      run.cancelReason = reason;
      (run.context ??= new RunContext(run)).abort(reason);
      cancelled++;
    }
    return cancelled;
  }
}
