import type { RunEngine } from "../engine/run-engine.js";
import type { RunReport } from "../engine/run.js";
import type { Clock } from "../time/clock.js";
import type { StoreOpener } from "./store-opener.js";

/** What `runPending()` calls need. */
export interface PendingCallsDeps {
  readonly opener: StoreOpener;
  readonly engine: RunEngine;
  /** What is due is judged by this clock. */
  readonly runClock: Clock;
}

/**
 * `Scheduler.runPending()`: the calls in flight (which `advanceTo` and
 * `stop()` wait for), and those still waiting for the store to open.
 */
export class PendingCalls {
  /** The calls not yet resolved. */
  readonly calls = new Set<Promise<RunReport>>();
  readonly #deps: PendingCallsDeps;
  /** Calls waiting for the store to open (not yet in phase 1). */
  #opening = 0;
  readonly #openingWaiters: (() => void)[] = [];

  constructor(deps: PendingCallsDeps) {
    this.#deps = deps;
  }

  /** One `runPending()` call (see `Scheduler.runPending`). */
  run(): Promise<RunReport> {
    const running = this.#runNow();
    this.calls.add(running);
    const done = (): void => void this.calls.delete(running);
    running.then(done, done);
    return running;
  }

  async #runNow(): Promise<RunReport> {
    const { opener, engine, runClock } = this.#deps;
    if (!opener.isOpen) {
      // stop() waits for calls still opening the store: they count as in flight.
      this.#opening++;
      try {
        await opener.ready();
      } finally {
        if (--this.#opening === 0) for (const wake of this.#openingWaiters.splice(0)) wake();
      }
    }
    // Read once the store is open: a call queued at start must see the time it runs at.
    return engine.runDue(runClock.nowMs());
  }

  /** Resolves when no call is still opening the store (see stop). */
  openingSettled(): Promise<void> {
    if (this.#opening === 0) return Promise.resolve();
    return new Promise((resolve) => this.#openingWaiters.push(resolve));
  }
}
