import type { LeaseLostError } from "../errors.js";
import { ClaimsAhead } from "./claims-ahead.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { StorePassThrough } from "./store-pass-through.js";
import { takeOverRuns } from "./take-over.js";
import { SystemClock } from "../time/clock.js";
import { claimOrNull } from "../store/store.js";
import type {
  Claim,
  ClaimAnswer,
  ClaimOutcome,
  ClaimRequest,
  FinishRequest,
  PlainClaimRequest,
  ReapedClaim,
  RunRecord,
  Store,
} from "../store/store.js";

/** What a {@link LeasedStore} needs from its Scheduler. */
export interface LeasedStoreHost {
  /** Lease length requested with each claim and renewal, in ms. */
  readonly leaseMs: number;
  /** True when claims of this task must be exclusive (its overlap policy is `skip`). */
  exclusive(taskName: string): boolean;
  /** A held lease was lost (not renewed in time, or taken over). Must not throw. */
  onLeaseLost(claim: Claim, error: LeaseLostError): void;
  /** One renewal failed (it is retried). Must not throw. */
  onRenewError(error: unknown, claim: Claim): void;
}

/**
 * The store as the run engine sees it: the scheduler's store, plus what every
 * claim needs on a shared store. Claims of `skip` tasks are made exclusive
 * (so overlap "skip" holds across processes), the leases of held claims are
 * renewed by one {@link LeaseKeeper} until released, and a finished run is
 * recorded and released atomically with `finishRun` when the store has it.
 * Every other call goes to the store unchanged ({@link StorePassThrough}).
 */
export class LeasedStore extends StorePassThrough implements Store {
  readonly #store: Store;
  readonly #host: LeasedStoreHost;
  /**
   * Leases are real durations: counted on the system's clocks even when the
   * scheduler reads a manual (tests) or offset clock.
   */
  readonly #realClock = new SystemClock();
  #keeper: LeaseKeeper | undefined;
  /** Claims taken ahead of their due time ({@link claimAhead}), until asked for. */
  readonly #ahead = new ClaimsAhead();
  /** The claiming ahead in flight: claims wait for it, so that they never race it for a key. */
  #claimingAhead: Promise<unknown> | undefined;
  /** Why claims stopped (a newer schema: see `cluster/schema-watch.ts`); undefined while claiming. */
  #claimsStopped: string | undefined;

  constructor(store: Store, host: LeasedStoreHost) {
    super(store);
    this.#store = store;
    this.#host = host;
    this.#keeper = this.#newKeeper();
    if (store.finishRuns !== undefined) {
      this.finishRuns = (finishes) => this.#finishRuns(finishes);
    }
  }

  /** Claims whose leases are being renewed. */
  get heldLeases(): number {
    return this.#keeper?.size ?? 0;
  }

  finishRuns?: Store["finishRuns"];

  close(): Promise<void> {
    this.stopRenewing();
    return this.#store.close();
  }
  /**
   * Stops renewing the leases held now (the scheduler stopped: they expire and
   * another process, or this one at its next start, reaps them). Claims made
   * later are renewed again.
   */
  stopRenewing(): void {
    this.#keeper?.stop();
    this.#keeper = this.#newKeeper();
  }

  #newKeeper(): LeaseKeeper | undefined {
    const store = this.#store;
    const host = this.#host;
    if (!store.shared) return undefined;
    return new LeaseKeeper({
      store,
      leaseMs: host.leaseMs,
      clock: this.#realClock,
      onLost: (claim, error) => host.onLeaseLost(claim, error),
      onError: (error, claim) => host.onRenewError(error, claim),
    });
  }

  /**
   * Refuses every claim and settles nothing from now on, as if other nodes
   * had every run: claims held (and taken ahead) are kept, finished and recorded.
   */
  stopClaiming(reason: string): void {
    this.#claimsStopped ??= reason;
  }
  /** Why claims were stopped, if they were. */
  get claimsStopped(): string | undefined {
    return this.#claimsStopped;
  }

  async claimRun<R extends ClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    if (this.#claimsStopped !== undefined) return null;
    const sent = this.#now();
    const outcome: ClaimOutcome = await this.#store.claimRun(this.#request(request));
    const claim = claimOrNull(outcome);
    if (claim !== null) this.#keeper?.hold(claim, sent);
    return outcome as ClaimAnswer<R>;
  }
  claimRuns<R extends ClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return this.#claimRuns(requests) as Promise<ClaimAnswer<R>[]>;
  }
  async #claimRuns(requests: readonly ClaimRequest[]): Promise<ClaimOutcome[]> {
    if (this.#claimingAhead !== undefined) await this.#claimingAhead;
    const claims =
      this.#ahead.size > 0
        ? await this.#claimWithAhead(requests)
        : await this.#claimDirect(requests);
    // A claim refused because this node took it ahead meanwhile (a round that was
    // waiting for the store's lock with this one) is this node's: use it.
    if (this.#ahead.size > 0) {
      for (let i = 0; i < claims.length; i++) {
        const request = requests[i] as ClaimRequest;
        if (claims[i] !== null || request.manual === true) continue;
        claims[i] = this.#ahead.take(request.taskName, request.scheduledAt, request.nodeId) ?? null;
      }
    }
    return claims;
  }

  async #claimDirect(requests: readonly ClaimRequest[]): Promise<ClaimOutcome[]> {
    if (this.#claimsStopped !== undefined) return requests.map(() => null);
    const store = this.#store;
    const asked = requests.map((request) => this.#request(request));
    const sent = this.#now();
    const claims =
      store.claimRuns !== undefined
        ? await store.claimRuns(asked)
        : await Promise.all(asked.map((request) => store.claimRun(request)));
    const keeper = this.#keeper;
    if (keeper !== undefined)
      for (const outcome of claims) {
        const claim = claimOrNull(outcome);
        if (claim !== null) keeper.hold(claim, sent);
      }
    return claims;
  }

  /** This node's clocks now: a lease is counted from when its claim was sent. */
  #now(): { monoMs: number; wallMs: number } {
    const clock = this.#realClock;
    return { monoMs: clock.monotonicMs(), wallMs: clock.nowMs() };
  }

  /**
   * How long the lease of `claim` has left by this node's clocks, in ms
   * (Infinity on a store without leases; 0 once lost or released).
   */
  leaseLeftMs(claim: Claim): number {
    return this.#keeper === undefined ? Number.POSITIVE_INFINITY : this.#keeper.leftMs(claim);
  }
  releaseClaim(claim: Claim): Promise<void> {
    this.#keeper?.release(claim);
    return this.#store.releaseClaim(claim);
  }
  /**
   * Reaps with this scheduler's lease, and renews each claim taken over
   * until the run's interrupted row releases it (or its retry finishes).
   */
  async reapExpiredClaims(options: {
    readonly nodeId: string;
    readonly atStart: boolean;
    readonly leaseMs?: number;
  }): Promise<ReapedClaim[]> {
    const sent = this.#now();
    const reaped = await this.#store.reapExpiredClaims({ leaseMs: this.#host.leaseMs, ...options });
    const keeper = this.#keeper;
    if (keeper !== undefined) for (const claim of reaped) keeper.hold(claim.takenOver, sent);
    return reaped;
  }
  /**
   * Records an attempt, fenced by its claim, and releases the claim unless
   * `release` is false (see Store.finishRun). The lease is renewed until the
   * write is done: a write that fails (and is retried) must not let the lease
   * expire, or another node would run the run again.
   */
  async finishRun(
    record: RunRecord,
    claim: Claim,
    options?: { readonly release?: boolean },
  ): Promise<boolean> {
    const written = await this.#store.finishRun(record, claim, options);
    if (options?.release !== false || !written) this.#keeper?.release(claim);
    return written;
  }
  /** {@link finishRun} for many (see Store.finishRuns): each lease is renewed until its write is done. */
  async #finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    const written = (await this.#store.finishRuns?.(finishes)) ?? [];
    finishes.forEach(({ claim, release }, i) => {
      if (release || written[i] !== true) this.#keeper?.release(claim);
    });
    return written;
  }
  /**
   * Settles slots that do not run (skipped, missed). A claim this node took
   * ahead for one of them is given back first (unspent), else the store would
   * refuse the row as claimed and the claim would later go back unused,
   * leaving the slot with no row: a due run whose claim failed during an
   * outage while a claim ahead of it was still on its way to the store.
   */
  async settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
    if (this.#claimsStopped !== undefined) return records.map(() => false);
    if (this.#claimingAhead !== undefined) await this.#claimingAhead;
    if (this.#ahead.size > 0) {
      const held = records.flatMap((r) =>
        this.#ahead.takeBetween(
          r.taskName,
          r.scheduledAt,
          r.missedThrough ?? r.scheduledAt,
          r.nodeId,
        ),
      );
      if (held.length > 0) await Promise.all(held.map((claim) => this.giveBack(claim)));
    }
    return this.#store.settleSlots(records);
  }

  /**
   * Claims scheduled runs before they fall due, so that at their due time
   * `claimRuns` answers from memory instead of a store round trip. Requests
   * already claimed ahead are skipped; claims refused now are not remembered
   * (asked again when due). A claim that comes back overlapping (another run
   * of its task holds it) is given back: the run holding the task may have
   * ended by the due time, its release still on its way, and the run is
   * claimed again then. Kept, it was skipped as overlapping though nothing
   * ran when it fell due. Resolves with how many were claimed.
   */
  async claimAhead(requests: readonly PlainClaimRequest[]): Promise<number> {
    if (this.#store.giveBack === undefined || this.#claimingAhead !== undefined) return 0;
    const fresh = requests.filter(
      (request) =>
        request.manual !== true && !this.#ahead.has(request.taskName, request.scheduledAt),
    );
    if (fresh.length === 0) return 0;
    const pending = this.#claimAheadOf(fresh);
    // Claims wait for this round, its give-backs included: they never race it for a key.
    this.#claimingAhead = pending.catch(() => undefined);
    let claims: Claim[];
    try {
      claims = await pending;
    } finally {
      this.#claimingAhead = undefined;
    }
    for (const claim of claims) this.#ahead.add(claim);
    return claims.length;
  }

  /** Claims ahead, gives the overlapping ones back, and returns the others. */
  async #claimAheadOf(requests: readonly PlainClaimRequest[]): Promise<Claim[]> {
    const kept: Claim[] = [];
    const overlapping: Claim[] = [];
    // Never refused for maxRuns: such tasks are not claimed ahead (see AheadClaimer).
    for (const outcome of await this.#claimDirect(requests)) {
      const claim = claimOrNull(outcome);
      if (claim !== null) (claim.overlapping === true ? overlapping : kept).push(claim);
    }
    await Promise.all(
      overlapping.map(async (claim) => {
        try {
          await this.#store.giveBack?.(claim);
          this.#keeper?.release(claim);
        } catch {
          // Not given back (the store failed): held as it came, and skipped when due.
          kept.push(claim);
        }
      }),
    );
    return kept;
  }

  /**
   * Takes over runs of tasks this node does not own (their owner did not
   * claim them in time): a claim taken ahead here is used; of the rest, only
   * runs nobody claimed yet (`Store.takenRuns`, a read) are claimed, so that
   * taking over costs no conflicting claims. Answers in the order asked
   * (null: someone else has the run).
   */
  async takeOver(requests: readonly ClaimRequest[]): Promise<ClaimOutcome[]> {
    // A claim ahead in flight may hold some of these keys (taken while this node owned the task).
    if (this.#claimingAhead !== undefined) await this.#claimingAhead;
    return takeOverRuns(requests, {
      ahead: this.#ahead,
      takenRuns: (keys) => this.#store.takenRuns?.(keys),
      claim: (free) => this.#claimRuns(free),
    });
  }

  /** Removes and returns the claim taken ahead for that run by `nodeId`, if any: the caller now holds it. */
  takeClaimedAhead(taskName: string, scheduledAt: number, nodeId: string): Claim | undefined {
    return this.#ahead.take(taskName, scheduledAt, nodeId);
  }

  /** True when a claim taken ahead for that run is held here (its use is {@link takeClaimedAhead}). */
  heldAhead(taskName: string, scheduledAt: number): boolean {
    return this.#ahead.size > 0 && this.#ahead.has(taskName, scheduledAt);
  }

  /** Holds again a claim {@link takeClaimedAhead} gave out, until asked for or released as unused. */
  holdClaimedAhead(claim: Claim): void {
    this.#ahead.add(claim);
  }

  /** True when this store can claim ahead (it can give back an unused claim without spending its key). */
  get canClaimAhead(): boolean {
    return this.#store.shared && this.#store.giveBack !== undefined;
  }

  /**
   * Gives back the claims taken ahead that nobody asked for by `beforeMs`
   * (their task was removed, paused or replaced, or phase 1 did not start
   * the run): their keys are not spent. Resolves with how many.
   */
  async giveBackUnused(beforeMs: number): Promise<number> {
    // A round on its way: its claims are held here once it lands.
    if (this.#claimingAhead !== undefined) await this.#claimingAhead;
    const stale = this.#ahead.takeBefore(beforeMs);
    await Promise.all(stale.map((claim) => this.giveBack(claim)));
    return stale.length;
  }

  /** True while the lease of `claim` is renewed (claimed here, not released, not lost). */
  holds(claim: Claim): boolean {
    return this.#keeper?.holds(claim) ?? false;
  }

  /**
   * Stops renewing a claim without telling the store (its run's end could
   * not be written): the lease expires and the run is reaped, as if this
   * process had died.
   */
  abandon(claim: Claim): void {
    this.#keeper?.release(claim);
  }

  /** Gives a claim back without spending its key (see Store.giveBack). */
  async giveBack(claim: Claim): Promise<void> {
    this.#keeper?.release(claim);
    await this.#store.giveBack?.(claim);
  }

  async #claimWithAhead(requests: readonly ClaimRequest[]): Promise<ClaimOutcome[]> {
    const { answers, rest, restIndex, taken } = this.#ahead.answer(requests);
    if (rest.length === 0) return answers;
    let claimed: ClaimOutcome[];
    try {
      claimed = await this.#claimDirect(rest);
    } catch (error) {
      // The batch fails whole (its runs are recorded missed): the claims taken ahead go back,
      // where those rows give them back unspent (settleSlots) rather than leave them held.
      this.#ahead.putBack(taken);
      throw error;
    }
    claimed.forEach((claim, i) => (answers[restIndex[i] as number] = claim));
    return answers;
  }

  #request(request: ClaimRequest): ClaimRequest {
    if (request.exclusive !== undefined || !this.#host.exclusive(request.taskName)) return request;
    return { ...request, exclusive: true };
  }
}
