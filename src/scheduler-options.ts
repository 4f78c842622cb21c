import { InvalidArgumentError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { Store } from "./store/store.js";
import type { Clock } from "./time/clock.js";

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /**
   * Where time comes from; pass a `ManualClock` in tests.
   * @defaultValue a SystemClock
   */
  clock?: Clock;
  /**
   * IANA zone cron expressions are read in, unless a task says otherwise.
   * @defaultValue the process zone
   */
  timezone?: string;
  /**
   * Pino-compatible logger for run errors and incidents.
   * @defaultValue a logger writing warnings and errors to stderr
   */
  logger?: Logger;
  /**
   * Store callback records unencrypted (durable stores mark them as such). Never changes schedule semantics.
   * @defaultValue false
   */
  testMode?: boolean;
  /**
   * This scheduler's id in claims and run history.
   * @defaultValue `hostname:pid`
   */
  nodeId?: string;
  /**
   * Where tasks, claims and history live.
   * @defaultValue a new MemoryStore
   */
  store?: Store;
  /**
   * Let the process exit while the scheduler's only timer is pending.
   * @defaultValue false
   */
  unref?: boolean;
  /**
   * Lease length of a claimed run in shared stores.
   * @defaultValue 30000
   */
  leaseMs?: number;
}

/** The defaults of {@link SchedulerOptions} that are constants. */
export const SCHEDULER_DEFAULTS = Object.freeze({
  testMode: false,
  unref: false,
  leaseMs: 30_000,
} satisfies Required<Pick<SchedulerOptions, "testMode" | "unref" | "leaseMs">>);

/** The zone of this process (what cron tasks use unless told otherwise). */
export function processTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Returns `zone` if it is a valid IANA zone name, else throws InvalidArgumentError naming `argument`. */
export function checkZone(argument: string, zone: unknown): string {
  if (typeof zone === "string" && zone !== "") {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return zone;
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidArgumentError(argument, 'an IANA time zone name such as "Europe/Paris"', zone);
}
