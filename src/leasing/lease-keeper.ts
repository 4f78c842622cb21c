/**
 * Keeps the leases of the claims a node holds: renews each at half its length
 * (BullMQ's LockManager rhythm) with one timer for all of them, and reports a
 * lease as lost when the store refuses a renewal, or at its own deadline: the
 * lease runs from when the claim (or its last successful renewal) was *sent*,
 * measured on this node's clocks, and the node trusts that deadline without
 * asking the store: from then on another node may reap the claim, so the
 * holder must stop acting on it. Both the monotonic and the wall clock are
 * read: a suspended VM's monotonic clock does not advance, its wall clock does.
 */
import { LeaseLostError } from "../errors.js";
import { SystemClock, type Clock } from "../time/clock.js";
import type { Claim, Store } from "../store/store.js";

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** The store whose `renewLease` is called. */
  readonly store: Pick<Store, "renewLease">;
  /** Lease length requested on each renewal, in ms. */
  readonly leaseMs: number;
  /** Called once per claim whose lease is lost; the claim is no longer kept. Must not throw. */
  readonly onLost: (claim: Claim, error: LeaseLostError) => void;
  /** Called when one renewal failed (it is retried soon); must not throw. */
  readonly onError?: (error: unknown, claim: Claim) => void;
  /**
   * Source of monotonic time for local deadlines.
   * @defaultValue a SystemClock
   */
  readonly clock?: Clock;
}

interface Held {
  readonly claim: Claim;
  /** Monotonic ms when the next renewal is due. */
  dueMs: number;
  /** Monotonic ms after which the lease may have expired in the store. */
  deadlineMs: number;
  /** The same deadline on the wall clock (epoch ms). */
  deadlineWallMs: number;
  renewing: boolean;
  /** Why the latest renewal failed, if it did (the cause of a LeaseLostError at the deadline). */
  lastError: unknown;
}

/**
 * Renews held leases by heartbeat. `hold(claim)` right after a claim,
 * `release(claim)` before `store.releaseClaim`. One timer serves every claim.
 */
export class LeaseKeeper {
  readonly #store: Pick<Store, "renewLease">;
  readonly #leaseMs: number;
  readonly #onLost: LeaseKeeperOptions["onLost"];
  readonly #onError: LeaseKeeperOptions["onError"];
  readonly #clock: Clock;
  readonly #held = new Map<string, Held>();
  #timer: NodeJS.Timeout | undefined;
  #timerDueMs = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(options: LeaseKeeperOptions) {
    this.#store = options.store;
    this.#leaseMs = options.leaseMs;
    this.#onLost = options.onLost;
    this.#onError = options.onError;
    this.#clock = options.clock ?? new SystemClock();
  }

  /** How many claims are kept. */
  get size(): number {
    return this.#held.size;
  }

  /** True while the claim is kept (not released, not lost). */
  holds(claim: Claim): boolean {
    return this.#held.has(claim.id);
  }

  /**
   * Starts renewing `claim`, whose lease of the keeper's `leaseMs` was asked
   * for at `sent` (this node's clocks when the claim request left; default:
   * now). The lease is counted from then, not from when the answer came.
   */
  hold(claim: Claim, sent?: { readonly monoMs: number; readonly wallMs: number }): void {
    if (this.#stopped) return;
    const monoMs = sent?.monoMs ?? this.#clock.monotonicMs();
    const wallMs = sent?.wallMs ?? this.#clock.nowMs();
    const dueMs = monoMs + this.#leaseMs / 2;
    this.#held.set(claim.id, {
      claim,
      dueMs,
      deadlineMs: monoMs + this.#leaseMs,
      deadlineWallMs: wallMs + this.#leaseMs,
      renewing: false,
      lastError: undefined,
    });
    // A burst of holds must not rescan every held claim each time.
    if (this.#timer !== undefined && this.#timerDueMs <= dueMs) return;
    this.#arm();
  }

  /**
   * How long the lease of `claim` has left by this node's clocks, in ms (the
   * smaller of the monotonic and wall-clock readings); 0 when it is not held.
   */
  leftMs(claim: Claim): number {
    const held = this.#held.get(claim.id);
    if (held === undefined) return 0;
    return Math.max(
      0,
      Math.min(
        held.deadlineMs - this.#clock.monotonicMs(),
        held.deadlineWallMs - this.#clock.nowMs(),
      ),
    );
  }

  /** Stops renewing `claim` (the run finished; release it in the store next). */
  release(claim: Claim): void {
    this.#held.delete(claim.id);
    if (this.#held.size === 0) this.#disarm();
  }

  /** Stops renewing everything (the leases then expire in the store). */
  stop(): void {
    this.#stopped = true;
    this.#held.clear();
    this.#disarm();
  }

  #arm(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const held of this.#held.values()) {
      // A renewal in flight cannot save a lease past its deadline: wake for that too.
      next = Math.min(
        next,
        held.renewing ? held.deadlineMs : Math.min(held.dueMs, held.deadlineMs),
      );
    }
    if (next === Number.POSITIVE_INFINITY) return this.#disarm();
    if (this.#timer !== undefined && this.#timerDueMs <= next) return;
    this.#disarm();
    this.#timerDueMs = next;
    this.#timer = setTimeout(this.#tick, Math.max(0, next - this.#clock.monotonicMs()));
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueMs = Number.POSITIVE_INFINITY;
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    this.#timerDueMs = Number.POSITIVE_INFINITY;
    const now = this.#clock.monotonicMs();
    const wallNow = this.#clock.nowMs();
    for (const held of [...this.#held.values()]) {
      // Past its deadline the store may have given the claim away unseen (reaped by
      // another node): give it up now, whatever a renewal in flight may answer.
      if (now >= held.deadlineMs || wallNow >= held.deadlineWallMs) {
        this.#lose(held, held.lastError);
        continue;
      }
      if (held.renewing || held.dueMs > now) continue;
      held.renewing = true;
      void this.#renew(held, now, wallNow);
    }
    this.#arm();
  };

  async #renew(held: Held, startedMs: number, startedWallMs: number): Promise<void> {
    let renewed: boolean;
    try {
      renewed = await this.#store.renewLease(held.claim, this.#leaseMs);
    } catch (error) {
      held.renewing = false;
      if (this.#held.get(held.claim.id) !== held) return;
      held.lastError = error;
      try {
        this.#onError?.(error, held.claim);
      } catch {
        // Contained.
      }
      const now = this.#clock.monotonicMs();
      if (now >= held.deadlineMs || this.#clock.nowMs() >= held.deadlineWallMs) {
        this.#lose(held, error);
      } else {
        // Retry soon, but never past the deadline.
        held.dueMs = Math.min(held.deadlineMs, now + Math.max(10, this.#leaseMs / 10));
        this.#arm();
      }
      return;
    }
    held.renewing = false;
    if (this.#held.get(held.claim.id) !== held) return;
    held.lastError = undefined;
    if (!renewed) {
      this.#lose(held, undefined);
      return;
    }
    // The lease runs from when the renewal was sent at the latest: measure from there.
    held.deadlineMs = startedMs + this.#leaseMs;
    held.deadlineWallMs = startedWallMs + this.#leaseMs;
    held.dueMs = startedMs + this.#leaseMs / 2;
    this.#arm();
  }

  #lose(held: Held, cause: unknown): void {
    this.#held.delete(held.claim.id);
    const { claim } = held;
    const error = new LeaseLostError(
      `The lease on run ${JSON.stringify(claim.taskName)} at ${new Date(claim.scheduledAt).toISOString()} (claim ${claim.id}) was lost; this node must not act on it any more`,
      cause === undefined ? undefined : { cause },
    );
    try {
      this.#onLost(claim, error);
    } catch {
      // Contained.
    }
  }
}
