import { InvalidArgumentError } from "../errors.js";
import { DISPATCHER_DEFAULTS, type DispatcherOptions } from "./dispatch-types.js";

/** A Dispatcher's own options, checked, with their defaults. */
export interface CheckedDispatcherOptions {
  readonly concurrency: number;
  readonly timeoutGraceMs: number;
}

/** Checks a Dispatcher's options (InvalidArgumentError); the worker pool's own are checked there. */
export function checkDispatcherOptions(options: DispatcherOptions): CheckedDispatcherOptions {
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("options", "an object", options);
  const concurrency = options.concurrency ?? DISPATCHER_DEFAULTS.concurrency;
  if (!(
    concurrency === Number.POSITIVE_INFINITY ||
    (Number.isSafeInteger(concurrency) && concurrency >= 1)
  )) {
    throw new InvalidArgumentError(
      "options.concurrency",
      "a whole number from 1 up, or Infinity",
      concurrency,
    );
  }
  if (
    options.maxThreads !== undefined &&
    !(Number.isSafeInteger(options.maxThreads) && options.maxThreads >= 1)
  ) {
    throw new InvalidArgumentError(
      "options.maxThreads",
      "a whole number from 1 up",
      options.maxThreads,
    );
  }
  const timeoutGraceMs = options.timeoutGraceMs ?? DISPATCHER_DEFAULTS.timeoutGraceMs;
  if (!(Number.isSafeInteger(timeoutGraceMs) && timeoutGraceMs >= 0)) {
    throw new InvalidArgumentError(
      "options.timeoutGraceMs",
      "a whole number of milliseconds from 0 up",
      timeoutGraceMs,
    );
  }
  return { concurrency, timeoutGraceMs };
}
