import type { Clock } from "../time/clock.js";

/** Options of {@link FailureLimiter}. */
export interface FailureLimiterOptions {
  /**
   * Failures a client may have in one window before the next ones are answered 429.
   * @defaultValue 20
   */
  readonly limit?: number;
  /**
   * Length of the sliding window, in ms.
   * @defaultValue 60000
   */
  readonly windowMs?: number;
  /**
   * Most clients remembered at once; the longest-known is forgotten beyond it.
   * @defaultValue 10000
   */
  readonly maxClients?: number;
}

/** Defaults of {@link FailureLimiterOptions}. */
export const FAILURE_LIMITER_DEFAULTS = Object.freeze({
  limit: 20,
  windowMs: 60_000,
  maxClients: 10_000,
} satisfies Required<FailureLimiterOptions>);

/** A failure counted before its check is done (see {@link FailureLimiter.reserve}). */
export interface FailureTicket {
  /** Seconds the client should wait (Retry-After) when this failure is over the limit, else 0. */
  readonly retryAfterSeconds: number;
  /** The check succeeded (or never happened): the failure is taken back. */
  release(): void;
}

interface Failure {
  readonly atMs: number;
}

/**
 * Counts failed token checks per client (a key from `clientKey`) in a sliding
 * window. It never refuses anything by itself: a correct token or session is
 * accepted whatever the count, so a client that shares an address with an
 * attacker (every loopback client does) cannot be locked out. The count only
 * decides how a failure is answered: 401 up to the limit, 429 with
 * Retry-After beyond it.
 */
export class FailureLimiter {
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  /**
   * The recent failures of each client, oldest first; at most `2 × limit + 1`
   * (more would tell nothing new), so that a taken-back reservation cannot
   * bring a flooding client under the limit.
   */
  readonly #failures = new Map<string, Failure[]>();

  constructor(clock: Clock, options: FailureLimiterOptions = {}) {
    this.#clock = clock;
    this.#limit = options.limit ?? FAILURE_LIMITER_DEFAULTS.limit;
    this.#windowMs = options.windowMs ?? FAILURE_LIMITER_DEFAULTS.windowMs;
    this.#maxClients = options.maxClients ?? FAILURE_LIMITER_DEFAULTS.maxClients;
  }

  /** Records a failed check of `client`; returns the Retry-After seconds when it is over the limit, else 0. */
  fail(client: string): number {
    return this.reserve(client).retryAfterSeconds;
  }

  /**
   * Counts a failure of `client` now, before the outcome of its check is
   * known: concurrent checks (logins whose bodies are still being read) see
   * each other's failures, so they cannot all pass under the limit.
   */
  reserve(client: string): FailureTicket {
    const failures = this.#recent(client);
    const failure: Failure = { atMs: this.#clock.nowMs() };
    failures.push(failure);
    if (failures.length > 2 * this.#limit + 1) failures.shift();
    this.#failures.delete(client);
    this.#failures.set(client, failures);
    if (this.#failures.size > this.#maxClients) {
      const first = this.#failures.keys().next();
      if (first.done !== true) this.#failures.delete(first.value);
    }
    return {
      retryAfterSeconds: this.#retryAfterSeconds(failures),
      release: () => {
        const current = this.#failures.get(client);
        const index = current?.indexOf(failure) ?? -1;
        if (index !== -1) current?.splice(index, 1);
      },
    };
  }

  /** Seconds until `client` is back under the limit, or 0 when it is under it now. */
  retryAfterSeconds(client: string): number {
    return this.#retryAfterSeconds(this.#recent(client));
  }

  #retryAfterSeconds(failures: readonly Failure[]): number {
    if (failures.length <= this.#limit) return 0;
    // Back under the limit once every failure but the newest `limit` has left the window.
    const last = failures[failures.length - this.#limit - 1]?.atMs ?? this.#clock.nowMs();
    return Math.max(1, Math.ceil((last + this.#windowMs - this.#clock.nowMs()) / 1000));
  }

  #recent(client: string): Failure[] {
    const since = this.#clock.nowMs() - this.#windowMs;
    const failures = (this.#failures.get(client) ?? []).filter((f) => f.atMs > since);
    if (failures.length === 0) this.#failures.delete(client);
    else this.#failures.set(client, failures);
    return failures;
  }
}
