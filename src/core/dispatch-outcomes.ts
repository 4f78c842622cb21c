import { OrchestratorError, type TimeoutError } from "../errors.js";
import type { DispatchOutcome } from "./dispatch-types.js";

/** How runs end, as the Dispatcher reports them (outcomes are values, never thrown). */

export const OK: DispatchOutcome = Object.freeze({ ok: true });
export const toOk = (value: unknown): DispatchOutcome =>
  value === undefined ? OK : { ok: true, value };
export const toFailure = (error: unknown): DispatchOutcome => ({
  ok: false,
  error,
  timedOut: false,
});

/** How a callback that settled after its timeout ended: the timeout, told by the callback's error when it was caused by it. */
export function afterTimeout(timeout: TimeoutError, error: unknown): DispatchOutcome {
  const caused = error === timeout || (error instanceof Error && error.cause === timeout);
  return { ok: false, error: caused ? error : timeout, timedOut: true };
}

/** The Dispatcher was closed; runs are refused. */
export class DispatcherClosedError extends OrchestratorError {
  constructor() {
    super("ERR_ABORTED", "The dispatcher is closed");
  }
}
