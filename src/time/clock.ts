import { parseDuration, type Duration } from "./duration.js";
import { InvalidArgumentError } from "../errors.js";

/**
 * The only source of time in orchestrator. `nowMs()` is wall-clock time (epoch
 * milliseconds, may jump); `monotonicMs()` never jumps and is used to notice
 * when the wall clock did.
 */
export interface Clock {
  /** The current wall-clock time as a Date. */
  now(): Date;
  /** The current wall-clock time in epoch milliseconds. */
  nowMs(): number;
  /** A monotonic reading in milliseconds (arbitrary origin, never goes back). */
  monotonicMs(): number;
  /**
   * Subscribes to changes made by hand (a {@link ManualClock} being moved), so
   * that a timer can re-arm at once. Real clocks never call the listener.
   * Returns the function that unsubscribes.
   */
  onChange?(listener: () => void): () => void;
}

/** The real clock: `Date.now()` and `performance.now()`. */
export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
  nowMs(): number {
    return Date.now();
  }
  monotonicMs(): number {
    return performance.now();
  }
}

/** Converts a Date, epoch ms or ISO string into epoch ms, or throws naming `argument`. */
export function toInstantMs(argument: string, value: Date | number | string): number {
  const ms =
    value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      argument,
      "a valid Date, epoch milliseconds or ISO 8601 string",
      value,
    );
  }
  return ms;
}

/**
 * A clock that moves only when told: `advance("1h")`, `set(date)`. Starts at
 * the given instant (default 2000-01-01T00:00:00Z, so tests never depend on the
 * real date). `advance` moves the monotonic reading too; `set` moves only the
 * wall clock, like an NTP step, so it looks like a jump to the timer loop.
 */
export class ManualClock implements Clock {
  #wallMs: number;
  #monotonicMs = 0;
  readonly #listeners = new Set<() => void>();

  constructor(start: Date | number | string = Date.UTC(2000, 0, 1)) {
    this.#wallMs = toInstantMs("start", start);
  }

  now(): Date {
    return new Date(this.#wallMs);
  }
  nowMs(): number {
    return this.#wallMs;
  }
  monotonicMs(): number {
    return this.#monotonicMs;
  }

  /** Moves time forward by a duration (`1000`, `"90s"`, `"1h"`); returns the new time. */
  advance(by: Duration): Date {
    const ms = parseDuration("by", by);
    this.#wallMs += ms;
    this.#monotonicMs += ms;
    this.#notify();
    return this.now();
  }

  /**
   * Sets the wall clock to an instant (forwards or backwards). Forward moves
   * also advance the monotonic reading, so only a backward `set` looks like a
   * jump; use {@link ManualClock.jump} to simulate a forward jump.
   */
  set(to: Date | number | string): Date {
    const ms = toInstantMs("to", to);
    if (ms > this.#wallMs) this.#monotonicMs += ms - this.#wallMs;
    this.#wallMs = ms;
    this.#notify();
    return this.now();
  }

  /** Moves the wall clock by `deltaMs` (may be negative) without moving the monotonic reading: a jump. */
  jump(deltaMs: number): Date {
    if (!Number.isFinite(deltaMs))
      throw new InvalidArgumentError("deltaMs", "a finite number", deltaMs);
    this.#wallMs += deltaMs;
    this.#notify();
    return this.now();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** True when `clock` can be moved by hand (a {@link ManualClock} or look-alike). */
/**
 * A clock that reads `base` held back by `holdBackMs`: the clock a scheduler
 * runs by when its node's clock was found ahead of the shared store's, so
 * that no run starts before its time by the store's clock. The monotonic
 * clock is the base's.
 */
export class HeldBackClock implements Clock {
  readonly #base: Clock;
  #holdBackMs = 0;

  constructor(base: Clock) {
    this.#base = base;
  }

  /** How far behind the base this clock reads, in ms (0 or more). */
  get holdBackMs(): number {
    return this.#holdBackMs;
  }
  set holdBackMs(ms: number) {
    this.#holdBackMs = Math.max(0, ms);
  }

  now(): Date {
    return new Date(this.nowMs());
  }
  nowMs(): number {
    return this.#base.nowMs() - this.#holdBackMs;
  }
  monotonicMs(): number {
    return this.#base.monotonicMs();
  }
}

export function isManualClock(clock: Clock): clock is ManualClock {
  return clock instanceof ManualClock;
}
