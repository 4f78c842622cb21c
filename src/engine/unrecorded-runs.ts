import { Run } from "./run.js";

/**
 * The runs of phase 2's batches not yet recorded, claims in flight included
 * (a count, not a collection: a burst pays nothing per run), and the
 * `drain()` calls waiting for it to fall. Kept by `RunStarter`
 * (engine/run-start.ts), which counts each batch in; it and its `RunCaller`
 * count each run out.
 */
export class UnrecordedRuns {
  #count = 0;
  /** `drain()` calls waiting for the count to fall. */
  #drainWaiters: (() => void)[] = [];

  /** A batch of `runs` runs goes to be claimed. */
  add(runs: number): void {
    this.#count += runs;
  }

  /** Waits until no run is in flight, except the one holding `except` (the caller's own). */
  async drain(except: object | undefined): Promise<void> {
    for (;;) {
      const own = except instanceof Run && except.inFlight ? 1 : 0;
      if (this.#count <= own) return;
      await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    }
  }

  /** One run of a batch is over (recorded, or not started): wakes drains when few are left. */
  done(): void {
    this.#count--;
    // A drain waits for zero, or for one when that one is its caller's own run.
    if (this.#count <= 1 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }
}
