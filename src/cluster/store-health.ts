import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What {@link StoreHealth} needs from its Scheduler. */
export interface StoreHealthHost {
  readonly store: Pick<Store, "now">;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long one call may wait for the store to come back before it fails, in ms. */
  readonly giveUpMs: number;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** Backoff between probes of an unreachable store, in ms. */
export const STORE_PROBE_BACKOFF = Object.freeze({ initialMs: 50, maxMs: 5_000 });

/**
 * Claims go through here on a shared store. When a claim fails, the store is
 * taken as unreachable: a `store:unreachable` event, then the store is probed
 * (`now()`) with exponential backoff and jitter until it answers
 * (`store:reconnected`). Meanwhile no claim is sent; the calls waiting are
 * retried once it answers, or fail after `giveUpMs`. Runs already claimed
 * are not affected here (their leases are kept, or lost, by the LeaseKeeper).
 */
export class StoreHealth {
  readonly #host: StoreHealthHost;
  #down: { sinceMs: number; up: Promise<void>; resolve: () => void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;

  constructor(host: StoreHealthHost) {
    this.#host = host;
  }

  /** False while the store is taken as unreachable. */
  get reachable(): boolean {
    return this.#down === undefined;
  }

  /**
   * Runs `call`; when it fails, waits for the store to answer again and
   * retries, until `giveUpMs` from the first attempt has passed (then the last
   * error is thrown).
   */
  async call<T>(call: () => Promise<T>): Promise<T> {
    const deadline = this.#host.clock.monotonicMs() + this.#host.giveUpMs;
    for (;;) {
      if (this.#down !== undefined) await this.#waitUp(deadline);
      try {
        return await call();
      } catch (error) {
        if (this.#stopped || this.#host.clock.monotonicMs() >= deadline) throw error;
        this.#markDown(error);
      }
    }
  }

  /** Stops probing; waiting calls fail at their deadline or when the store answers. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#up();
  }

  /** Probing may start again (the scheduler started again). */
  resume(): void {
    this.#stopped = false;
  }

  async #waitUp(deadline: number): Promise<void> {
    const down = this.#down;
    if (down === undefined) return;
    const left = deadline - this.#host.clock.monotonicMs();
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      down.up,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  #markDown(error: unknown): void {
    if (this.#down !== undefined) return;
    let resolve = (): void => {};
    const up = new Promise<void>((done) => (resolve = done));
    this.#down = { sinceMs: this.#host.clock.monotonicMs(), up, resolve };
    this.#attempt = 0;
    safeLog(
      this.#host.logger,
      "warn",
      { err: error },
      "Store unreachable: no new runs are claimed until it answers again",
    );
    this.#host.emit("store:unreachable", { error });
    this.#probeLater();
  }

  #probeLater(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const base = Math.min(
      STORE_PROBE_BACKOFF.maxMs,
      STORE_PROBE_BACKOFF.initialMs * 2 ** this.#attempt,
    );
    this.#attempt++;
    const delay = base / 2 + Math.random() * (base / 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#probe();
    }, delay);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    try {
      await this.#host.store.now();
    } catch {
      this.#probeLater();
      return;
    }
    this.#up();
  }

  #up(): void {
    const down = this.#down;
    if (down === undefined) return;
    this.#down = undefined;
    const downMs = this.#host.clock.monotonicMs() - down.sinceMs;
    if (!this.#stopped) {
      safeLog(this.#host.logger, "info", { downMs }, "Store reachable again");
      this.#host.emit("store:reconnected", { downMs });
    }
    down.resolve();
  }
}
