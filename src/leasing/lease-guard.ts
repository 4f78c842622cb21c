import type { Claim } from "../store/store.js";
import { LeaseLostError } from "../errors.js";

/** The most lost claims remembered until a run of theirs consumes them. */
const MAX_LOST = 10_000;

/**
 * What the run engine asks about leased runs on a shared store: an
 * AbortSignal per claimed attempt, aborted when the node loses the claim's
 * lease, and whether a claim was lost (its outcome must then not be
 * recorded: the node that reaps the claim records it `interrupted` and
 * applies the retry policy).
 */
/** What a lost lease aborts: an attempt's context, or an AbortController. */
export interface Abortable {
  abort(reason: unknown): void;
}

export class LeaseGuard {
  readonly #running = new Map<string, Abortable>();
  readonly #lost = new Set<string>();

  /** Claims with an attempt in flight. */
  get inFlight(): number {
    return this.#running.size;
  }

  /**
   * The signal of the attempt about to start under `claim`; already aborted
   * when the claim was lost meanwhile (a retry waiting under a lost claim
   * then never starts).
   */
  signal(claim: Claim): AbortSignal {
    const controller = new AbortController();
    this.watch(claim, controller);
    return controller.signal;
  }

  /**
   * Aborts `attempt` when the lease of `claim` is lost (at once when it was
   * lost meanwhile). Cheaper than {@link signal} for inline callbacks: their
   * context makes an AbortSignal only if the callback asks for one.
   */
  watch(claim: Claim, attempt: Abortable): void {
    this.#running.set(claim.id, attempt);
    if (this.#lost.has(claim.id)) attempt.abort(lostReason(claim));
  }

  /**
   * The lease of `claim` was lost: aborts its attempt in flight, if any, and
   * remembers the claim until {@link takeLost}. Returns whether an attempt was in flight.
   */
  lost(claim: Claim, reason: unknown): boolean {
    if (this.#lost.size >= MAX_LOST) {
      const oldest = this.#lost.values().next();
      if (oldest.done !== true) this.#lost.delete(oldest.value);
    }
    this.#lost.add(claim.id);
    const controller = this.#running.get(claim.id);
    if (controller === undefined) return false;
    controller.abort(reason);
    return true;
  }

  /** True (once) when `claim` was lost: the attempt that just ended must not be recorded or retried here. */
  takeLost(claim: Claim): boolean {
    return this.#lost.delete(claim.id);
  }

  /** The attempt under `claim` ended. */
  done(claim: Claim): void {
    this.#running.delete(claim.id);
  }
}

function lostReason(claim: Claim): Error {
  return new LeaseLostError(`The lease of the run of ${JSON.stringify(claim.taskName)} was lost`);
}
