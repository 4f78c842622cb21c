import type { Clock } from "./clock.js";

/** The largest delay `setTimeout` accepts (2^31-1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** The timer functions the loop uses (injectable for tests of the delay splitting). */
export interface TimerFunctions {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `callback` on the next turn of the event loop; without it, there is no final approach. */
  setImmediate?(callback: () => void): unknown;
  clearImmediate?(handle: unknown): void;
}

/**
 * How close to a prepared instant (one `onSoon` was called for) the loop
 * stops sleeping and checks the clock on every turn of the event loop: a
 * timer fires up to a millisecond or two late, which a burst of ten thousand
 * runs would add to every run's lateness.
 */
export const FINAL_APPROACH_MS = 2;

/** What the loop reports when wall time and monotonic time disagree across one sleep. */
export interface ClockJump {
  /** Wall-clock change minus monotonic change over the sleep: positive = the clock jumped forward. */
  readonly driftMs: number;
  /** The wall clock after the jump, epoch ms. */
  readonly nowMs: number;
}

/** Options of {@link TimerLoop}. */
export interface TimerLoopOptions {
  readonly clock: Clock;
  /** The next instant (epoch ms) anything is due, or null when nothing is. */
  readonly nextDueMs: () => number | null;
  /** Called (synchronously) when the wall clock has reached the next due instant. Must not throw; if it does, the loop logs nothing and keeps going. */
  readonly onDue: () => void;
  /**
   * How long before a due instant to call `onSoon` for it (0: not at all).
   * Asked each time the timer is armed.
   */
  readonly planLeadMs?: (dueMs: number) => number;
  /** Called (synchronously) `planLeadMs` before `dueMs`; the loop then sleeps until `dueMs`. Must not throw. */
  readonly onSoon?: (dueMs: number) => void;
  /** Called when a wall-clock jump (suspend, NTP step, manual set) is noticed; the loop then calls `onDue` at once. */
  readonly onJump?: (jump: ClockJump) => void;
  /** Called each time the timer is armed (for diagnostics and tests). */
  readonly onArm?: (delayMs: number, dueMs: number) => void;
  /**
   * Let the process exit while only this timer is pending.
   * @defaultValue false
   */
  readonly unref?: boolean;
  /**
   * Longest single sleep. Short enough that a wall-clock jump during a long
   * sleep is noticed soon; at most 2^31-1.
   * @defaultValue 60000
   */
  readonly maxSleepMs?: number;
  /**
   * Disagreement between wall and monotonic time over one sleep that counts as a jump.
   * @defaultValue 1000
   */
  readonly jumpThresholdMs?: number;
  readonly timers?: TimerFunctions;
}

/** The defaults of {@link TimerLoopOptions}. */
export const TIMER_LOOP_DEFAULTS = Object.freeze({
  unref: false,
  maxSleepMs: 60_000,
  jumpThresholdMs: 1_000,
} satisfies Required<Pick<TimerLoopOptions, "unref" | "maxSleepMs" | "jumpThresholdMs">>);

/** Node's own timer functions: the default of {@link TimerLoopOptions.timers} (and of other timer users). */
export const NODE_TIMERS: TimerFunctions = Object.freeze({
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setImmediate: (callback) => setImmediate(callback),
  clearImmediate: (handle) => clearImmediate(handle as ReturnType<typeof setImmediate>),
} satisfies TimerFunctions);

/**
 * One timer for a whole scheduler. It sleeps until the next due instant, in
 * slices of at most `maxSleepMs` (so delays beyond 2^31-1 ms are split and a
 * wall-clock jump is noticed within one slice), compares wall and monotonic
 * time on every wake to detect jumps, and re-arms when something earlier is
 * scheduled ({@link poke}) or a manual clock is moved. With `planLeadMs`, it also
 * wakes that long before a due instant to let the owner prepare (`onSoon`),
 * and then approaches that instant turn by turn of the event loop for its
 * last {@link FINAL_APPROACH_MS}, so that it fires within a fraction of a
 * millisecond of it.
 */
export class TimerLoop {
  readonly #options: TimerLoopOptions;
  readonly #timers: TimerFunctions;
  readonly #maxSleepMs: number;
  readonly #jumpThresholdMs: number;
  #running = false;
  #handle: unknown = undefined;
  /** True when `#handle` is an immediate (the final approach), not a timeout. */
  #handleIsImmediate = false;
  /** The due instant `onSoon` was last called for. */
  #preparedDueMs = Number.NaN;
  /** The lead the armed timer was set with. */
  #armedPlanLeadMs = 0;
  /** The due instant the armed timer is for (+Infinity when not armed). */
  #armedDueMs = Number.POSITIVE_INFINITY;
  #armedWallMs = 0;
  #armedMonoMs = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(options: TimerLoopOptions) {
    this.#options = options;
    this.#timers = options.timers ?? NODE_TIMERS;
    this.#maxSleepMs = Math.min(
      options.maxSleepMs ?? TIMER_LOOP_DEFAULTS.maxSleepMs,
      MAX_TIMEOUT_MS,
    );
    this.#jumpThresholdMs = options.jumpThresholdMs ?? TIMER_LOOP_DEFAULTS.jumpThresholdMs;
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.#running;
  }
  /** True while a timer is pending. */
  get armed(): boolean {
    return this.#handle !== undefined;
  }

  /** Starts the loop (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#options.clock.onChange?.(() => this.#onClockChange());
    this.#rearm();
  }

  /** Stops the loop and clears the timer (idempotent). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#clear();
  }

  /**
   * Tells the loop that something is now due at `dueMs` (or that the next due
   * instant changed, when called without argument). O(1) when the armed timer
   * already wakes early enough.
   */
  poke(dueMs?: number): void {
    if (!this.#running) return;
    if (dueMs !== undefined && this.#handle !== undefined && dueMs >= this.#armedDueMs) {
      // Something more due at the armed instant: re-arm only if that lengthens its lead.
      const planLeadMs = this.#options.planLeadMs;
      if (dueMs !== this.#armedDueMs || planLeadMs === undefined || dueMs === this.#preparedDueMs)
        return;
      if (planLeadMs(dueMs) <= this.#armedPlanLeadMs) return;
    }
    this.#rearm();
  }

  #clear(): void {
    if (this.#handle !== undefined) {
      if (this.#handleIsImmediate) this.#timers.clearImmediate?.(this.#handle);
      else this.#timers.clearTimeout(this.#handle);
    }
    this.#handle = undefined;
    this.#handleIsImmediate = false;
    this.#armedDueMs = Number.POSITIVE_INFINITY;
  }

  #rearm(): void {
    this.#clear();
    if (!this.#running) return;
    const dueMs = this.#options.nextDueMs();
    if (dueMs === null) return;
    const { clock } = this.#options;
    const nowMs = clock.nowMs();
    const timers = this.#timers;
    const approach = dueMs === this.#preparedDueMs && timers.setImmediate !== undefined;
    const planLeadMs = approach ? 0 : (this.#options.planLeadMs?.(dueMs) ?? 0);
    const wakeMs = approach ? dueMs - FINAL_APPROACH_MS : dueMs - planLeadMs;
    this.#armedPlanLeadMs = planLeadMs;
    const delayMs = Math.max(0, Math.min(Math.ceil(wakeMs - nowMs), this.#maxSleepMs));
    this.#armedDueMs = dueMs;
    this.#armedWallMs = nowMs;
    this.#armedMonoMs = clock.monotonicMs();
    let handle: unknown;
    if (approach && delayMs === 0) {
      handle = timers.setImmediate?.(() => this.#wake(handle));
      this.#handleIsImmediate = true;
    } else {
      handle = timers.setTimeout(() => this.#wake(handle), delayMs);
    }
    this.#handle = handle;
    if (this.#options.unref ?? TIMER_LOOP_DEFAULTS.unref)
      (handle as { unref?: () => void }).unref?.();
    this.#options.onArm?.(delayMs, dueMs);
  }

  #wake(handle: unknown): void {
    if (handle !== this.#handle || !this.#running) return;
    this.#handle = undefined;
    this.#handleIsImmediate = false;
    this.#fireIfDue(this.#detectJump());
  }

  /** A manual clock moved: a jump if wall and monotonic time disagree, then re-evaluate. */
  #onClockChange(): void {
    if (!this.#running) return;
    if (this.#handle === undefined) {
      this.#rearm();
      return;
    }
    this.#clear();
    this.#fireIfDue(this.#detectJump());
  }

  #detectJump(): boolean {
    const { clock } = this.#options;
    const nowMs = clock.nowMs();
    const driftMs = nowMs - this.#armedWallMs - (clock.monotonicMs() - this.#armedMonoMs);
    if (Math.abs(driftMs) < this.#jumpThresholdMs) return false;
    try {
      this.#options.onJump?.({ driftMs, nowMs });
    } catch {
      // Reporting a jump must not stop the loop.
    }
    return true;
  }

  #fireIfDue(jumped: boolean): void {
    const options = this.#options;
    const dueMs = options.nextDueMs();
    const nowMs = options.clock.nowMs();
    try {
      if (jumped || (dueMs !== null && nowMs >= dueMs)) options.onDue();
      else if (
        dueMs !== null &&
        dueMs !== this.#preparedDueMs &&
        nowMs >= dueMs - (options.planLeadMs?.(dueMs) ?? 0)
      ) {
        this.#preparedDueMs = dueMs;
        options.onSoon?.(dueMs);
      }
    } catch {
      // onDue and onSoon contain their own errors; this is the last line of defence.
    }
    this.#rearm();
  }
}
