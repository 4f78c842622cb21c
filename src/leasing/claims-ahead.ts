import type { Claim, ClaimOutcome, ClaimRequest } from "../store/store.js";

/** A batch of claim requests, answered from the claims taken ahead as far as they go. */
export interface AnsweredAhead {
  /** One per request: the claim taken ahead, or null for the rest. */
  readonly answers: ClaimOutcome[];
  /** The requests no claim taken ahead answered, and their positions in `answers`. */
  readonly rest: ClaimRequest[];
  readonly restIndex: number[];
  /** The claims taken out for `answers`. */
  readonly taken: Claim[];
}

/**
 * Claims taken ahead of their due time, held until asked for: by due
 * instant, then by task name. Taking ten thousand of them at a burst's
 * instant is then a Map lookup on each task's name, a string whose hash V8
 * keeps, instead of building and hashing a `name + instant` key per run.
 */
export class ClaimsAhead {
  readonly #byInstant = new Map<number, Map<string, Claim>>();
  #size = 0;
  /** The last instant looked up, and its claims: a burst asks for one instant many times. */
  #lastAt = Number.NaN;
  #lastNames: Map<string, Claim> | undefined;

  get size(): number {
    return this.#size;
  }

  has(taskName: string, scheduledAt: number): boolean {
    return this.#names(scheduledAt)?.has(taskName) ?? false;
  }

  add(claim: Claim): void {
    let names = this.#names(claim.scheduledAt);
    if (names === undefined) {
      names = new Map();
      this.#byInstant.set(claim.scheduledAt, names);
      this.#lastAt = Number.NaN;
    }
    if (!names.has(claim.taskName)) this.#size++;
    names.set(claim.taskName, claim);
  }

  /** Removes and returns the claim held for that run by `nodeId`, if any. */
  take(taskName: string, scheduledAt: number, nodeId: string): Claim | undefined {
    const names = this.#names(scheduledAt);
    const claim = names?.get(taskName);
    if (claim === undefined || claim.nodeId !== nodeId) return undefined;
    this.#delete(names as Map<string, Claim>, claim);
    return claim;
  }

  /**
   * Answers `requests` from the claims held (taken out), manual ones never.
   * A caller whose batch then fails as a whole puts `taken` back with
   * {@link putBack}: left out, they would be held (their leases renewed) by no run.
   */
  answer(requests: readonly ClaimRequest[]): AnsweredAhead {
    const answered: AnsweredAhead = {
      answers: new Array<ClaimOutcome>(requests.length).fill(null),
      rest: [],
      restIndex: [],
      taken: [],
    };
    for (let index = 0; index < requests.length; index++) {
      const request = requests[index] as ClaimRequest;
      const claim =
        request.manual === true
          ? undefined
          : this.take(request.taskName, request.scheduledAt, request.nodeId);
      if (claim !== undefined) {
        answered.answers[index] = claim;
        answered.taken.push(claim);
      } else {
        answered.rest.push(request);
        answered.restIndex.push(index);
      }
    }
    return answered;
  }

  /** Holds again claims taken out by {@link answer} for a batch that failed. */
  putBack(claims: readonly Claim[]): void {
    for (const claim of claims) this.add(claim);
  }

  /** Removes and returns the claims held for `taskName` by `nodeId` due from `fromMs` through `throughMs`. */
  takeBetween(taskName: string, fromMs: number, throughMs: number, nodeId: string): Claim[] {
    const taken: Claim[] = [];
    for (const [at, names] of this.#byInstant) {
      if (at < fromMs || at > throughMs) continue;
      const claim = names.get(taskName);
      if (claim !== undefined && claim.nodeId === nodeId) taken.push(claim);
    }
    for (const claim of taken) this.#delete(this.#byInstant.get(claim.scheduledAt)!, claim);
    return taken;
  }

  /** Removes and returns every claim due before `beforeMs`. */
  takeBefore(beforeMs: number): Claim[] {
    const taken: Claim[] = [];
    for (const [at, names] of this.#byInstant) {
      if (at >= beforeMs) continue;
      for (const claim of names.values()) taken.push(claim);
      this.#byInstant.delete(at);
      this.#size -= names.size;
    }
    this.#lastAt = Number.NaN;
    return taken;
  }

  #names(scheduledAt: number): Map<string, Claim> | undefined {
    if (scheduledAt !== this.#lastAt) {
      this.#lastAt = scheduledAt;
      this.#lastNames = this.#byInstant.get(scheduledAt);
    }
    return this.#lastNames;
  }

  #delete(names: Map<string, Claim>, claim: Claim): void {
    names.delete(claim.taskName);
    this.#size--;
    if (names.size === 0) {
      this.#byInstant.delete(claim.scheduledAt);
      this.#lastAt = Number.NaN;
    }
  }
}
