import { MemoryStore } from "../../src/store/memory-store.js";
import type { Claim, ClaimRequest } from "../../src/store/store.js";
import { deferred } from "./events.js";

/** A memory store whose claims wait for `release()` (a slow database, a lock held elsewhere). */
export class SlowClaimStore extends MemoryStore {
  readonly #gate = deferred();
  claimsAsked = 0;

  release(): void {
    this.#gate.resolve();
  }

  override async claimRun(request: ClaimRequest): Promise<Claim | null> {
    this.claimsAsked++;
    await this.#gate.promise;
    return super.claimRun(request);
  }

  override async claimRuns(requests: readonly ClaimRequest[]): Promise<(Claim | null)[]> {
    this.claimsAsked++;
    await this.#gate.promise;
    return super.claimRuns(requests);
  }
}
