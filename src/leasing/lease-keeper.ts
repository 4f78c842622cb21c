/**
 * Keeps the leases of the claims a node holds: renews each at half its length
 * (BullMQ's LockManager rhythm) with one timer for all of them, and reports a
 * lease as lost when the store refuses a renewal, or when renewals kept
 * failing (a lost connection) until the lease's last known expiry passed: from
 * then on another node may have reaped it, so the holder must stop acting on it.
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

  /** Starts renewing `claim`, whose lease was just granted for the keeper's `leaseMs`. */
  hold(claim: Claim): void {
    if (this.#stopped) return;
    const now = this.#clock.monotonicMs();
    const dueMs = now + this.#leaseMs / 2;
    this.#held.set(claim.id, {
      claim,
      dueMs,
      deadlineMs: now + this.#leaseMs,
      renewing: false,
      lastError: undefined,
    });
    // A burst of holds must not rescan every held claim each time.
    if (this.#timer !== undefined && this.#timerDueMs <= dueMs) return;
    this.#arm();
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
    for (const held of this.#held.values()) if (!held.renewing) next = Math.min(next, held.dueMs);
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
    for (const held of this.#held.values()) {
      if (held.renewing || held.dueMs > now) continue;
      // Past the deadline after failed renewals, the store may have given the claim away
      // unseen: give it up. Past it only because this process stalled, ask the store,
      // which refuses an expired lease.
      if (now >= held.deadlineMs && held.lastError !== undefined) {
        this.#lose(held, held.lastError);
        continue;
      }
      held.renewing = true;
      void this.#renew(held, now);
    }
    this.#arm();
  };

  async #renew(held: Held, startedMs: number): Promise<void> {
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
      if (now >= held.deadlineMs) {
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
