import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { ClaimAnswer, ClaimRequest } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { deferred } from "./events.js";
import { PLAN_AHEAD } from "./plan-ahead.js";

/** A memory store whose claims wait for `release()` (a slow database, a lock held elsewhere). */
export class SlowClaimStore extends MemoryStore {
  readonly #gate = deferred();
  claimsAsked = 0;

  release(): void {
    this.#gate.resolve();
  }

  override async claimRun<R extends ClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    this.claimsAsked++;
    await this.#gate.promise;
    return super.claimRun(request);
  }

  override async claimRuns<R extends ClaimRequest>(
    requests: readonly R[],
  ): Promise<ClaimAnswer<R>[]> {
    this.claimsAsked++;
    await this.#gate.promise;
    return super.claimRuns(requests);
  }
}

/**
 * Node "a" on a {@link SlowClaimStore} at 2026-01-01T00:00:00Z (UTC), with a
 * node "b" opened on the same store so that claims are required.
 */
export async function slowClaimNodes(): Promise<{
  a: Scheduler;
  b: Scheduler;
  store: SlowClaimStore;
  clock: ManualClock;
}> {
  const clock = new ManualClock("2026-01-01T00:00:00Z");
  const store = new SlowClaimStore();
  const make = (nodeId: string): Scheduler =>
    new Scheduler(new Dispatcher(), {
      clock,
      store,
      nodeId,
      timezone: "UTC",
      logger: silentLogger,
      planAhead: PLAN_AHEAD,
    });
  const a = make("a");
  const b = make("b");
  await b.runPending();
  return { a, b, store, clock };
}
