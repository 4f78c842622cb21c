import type { ClockSkewEvent, SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Store } from "../store/store.js";

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
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** Round trips per measurement; the one with the shortest round trip is used. */
const SAMPLES = 3;

/**
 * Measures, at start and every `intervalMs`, how far this node's clock is
 * from a shared store's clock (the database clock, which claims and leases
 * use), and warns (log + `clock:skew`) when it is beyond `thresholdMs`. Runs
 * fire by this node's clock, so a skewed node fires early or late by the skew.
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
  start(): void {
    if (this.#host.store.measureClockSkew === undefined || this.#timer !== undefined) return;
    void this.measure();
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
    const { thresholdMs } = this.#host;
    // Only what is certainly beyond the threshold counts: the round trip bounds the error.
    if (Math.abs(best.skewMs) - best.roundTripMs / 2 > thresholdMs) {
      const event: ClockSkewEvent = { ...best, thresholdMs };
      safeLog(
        this.#host.logger,
        "warn",
        { ...event },
        `This node's clock is ${Math.round(Math.abs(best.skewMs))} ms ${best.skewMs > 0 ? "behind" : "ahead of"} the store's clock ` +
          `(more than maxClockSkewMs = ${thresholdMs}); runs fire by this node's clock, so they fire that much ${best.skewMs > 0 ? "late" : "early"}. Synchronise the clocks (NTP).`,
      );
      this.#host.emit("clock:skew", event);
    }
    return best;
  }
}
