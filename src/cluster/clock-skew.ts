import type { ClockSkewEvent, SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import type { HeldBackClock } from "../time/clock.js";
import { waitAtMost } from "../time/wait-at-most.js";

/** A measurement of this node's clock against the store's. */
export interface ClockSkewMeasurement {
  /** Store clock minus this node's clock, in ms (positive: this node is behind). */
  readonly skewMs: number;
  /** Round trip of the best sample, in ms: the skew is known to ± half of it. */
  readonly roundTripMs: number;
}

/** What {@link ClockSkewMonitor} needs from its Scheduler. */
export interface ClockSkewHost {
  readonly store: Pick<Store, "measureClockSkew">;
  readonly logger: Logger;
  /** Warn above this absolute skew, in ms. */
  readonly thresholdMs: number;
  /** Measure again this often, in ms (0: only at start). */
  readonly intervalMs: number;
  /**
   * The clock runs go by: each measurement holds it back by however far this
   * node's clock may be ahead of the store's (the skew plus half the round
   * trip), so that no run starts before its time by the store's clock.
   */
  readonly heldBack?: HeldBackClock;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** Round trips per measurement; the one with the shortest round trip is used. */
const SAMPLES = 3;

/** The longest `start()` waits for the first measurement, in ms. */
export const FIRST_MEASUREMENT_WAIT_MS = 2_000;

/**
 * Measures, at start and every `intervalMs`, how far this node's clock is
 * from a shared store's clock (the database clock, which claims and leases
 * use), and warns (log + `clock:skew`) when it is beyond `thresholdMs`. A
 * node whose clock is ahead is held back by as much (`heldBack`): its runs
 * never start before their time by the store's clock. A node behind runs
 * late by its skew.
 */
export class ClockSkewMonitor {
  readonly #host: ClockSkewHost;
  #timer: NodeJS.Timeout | undefined;
  #last: ClockSkewMeasurement | undefined;
  #measuring: Promise<ClockSkewMeasurement | undefined> | undefined;

  constructor(host: ClockSkewHost) {
    this.#host = host;
  }

  /** The latest measurement, or undefined before the first (or when the store is not shared). */
  get last(): ClockSkewMeasurement | undefined {
    return this.#last;
  }

  /** Measures now and then every `intervalMs` (stores with a clock of their own only). Idempotent. */
  /**
   * The first measurement, before the scheduler's timer starts: resolves once
   * it is done or after {@link FIRST_MEASUREMENT_WAIT_MS} (a store that does
   * not answer must not hold the start up; the next measurement follows).
   */
  async measureFirst(): Promise<void> {
    if (this.#host.store.measureClockSkew === undefined || this.#last !== undefined) return;
    await waitAtMost(this.measure(), FIRST_MEASUREMENT_WAIT_MS, { unref: true });
  }

  start(): void {
    if (this.#host.store.measureClockSkew === undefined || this.#timer !== undefined) return;
    if (this.#last === undefined) void this.measure();
    if (this.#host.intervalMs > 0) {
      this.#timer = setInterval(() => void this.measure(), this.#host.intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Measures once (concurrent calls share one measurement); never rejects (undefined when the store failed or has no clock of its own). */
  measure(): Promise<ClockSkewMeasurement | undefined> {
    this.#measuring ??= this.#measure().finally(() => {
      this.#measuring = undefined;
    });
    return this.#measuring;
  }

  async #measure(): Promise<ClockSkewMeasurement | undefined> {
    const { store } = this.#host;
    if (store.measureClockSkew === undefined) return undefined;
    let best: ClockSkewMeasurement;
    try {
      const measured = await store.measureClockSkew(SAMPLES);
      best = { skewMs: measured.skewMs, roundTripMs: measured.roundTripMs };
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "clock-skew" });
      return undefined;
    }
    this.#last = best;
    const { thresholdMs, heldBack } = this.#host;
    const aheadMs = Math.round(-best.skewMs + best.roundTripMs / 2);
    if (heldBack !== undefined) heldBack.holdBackMs = aheadMs;
    // Only what is certainly beyond the threshold counts: the round trip bounds the error.
    if (Math.abs(best.skewMs) - best.roundTripMs / 2 > thresholdMs) {
      const event: ClockSkewEvent = { ...best, thresholdMs };
      safeLog(
        this.#host.logger,
        "warn",
        { ...event },
        `This node's clock is ${Math.round(Math.abs(best.skewMs))} ms ${best.skewMs > 0 ? "behind" : "ahead of"} the store's clock ` +
          `(more than maxClockSkewMs = ${thresholdMs}); ` +
          (best.skewMs > 0
            ? "its runs start that much late."
            : heldBack !== undefined
              ? `its runs are held back by ${Math.max(0, aheadMs)} ms, so that none starts before its time by the store's clock.`
              : "its runs start that much early.") +
          " Synchronise the clocks (NTP).",
      );
      this.#host.emit("clock:skew", event);
    }
    return best;
  }
}
