import type { RunContext } from "./run-context.js";
import type { TaskCallback } from "./task.js";
import type { WorkerPoolOptions } from "./worker-pool.js";

/** Options of `Dispatcher`. */
export interface DispatcherOptions extends WorkerPoolOptions {
  /**
   * Most runs in flight at once, inline and worker together; further runs wait
   * in FIFO order.
   * @defaultValue Infinity
   */
  concurrency?: number;
  /**
   * After a timeout aborts an inline callback's `ctx.signal`, how long to wait
   * for the callback to stop, in ms. When it rejects within that time with an
   * error caused by the timeout (the TimeoutError is the error or its
   * `cause`), that error is the run's error, so that what it carries (such as
   * a killed command's exit status and output, in `details`) is recorded;
   * otherwise the run's error is the TimeoutError. The run times out either way.
   * @defaultValue 0 (the run ends at its timeout)
   */
  timeoutGraceMs?: number;
}

/** The defaults of {@link DispatcherOptions} that have one. */
export const DISPATCHER_DEFAULTS = Object.freeze({
  concurrency: Number.POSITIVE_INFINITY,
  minThreads: 0,
  idleTimeoutMs: 30_000,
  timeoutGraceMs: 0,
} satisfies Required<
  Pick<DispatcherOptions, "concurrency" | "minThreads" | "idleTimeoutMs" | "timeoutGraceMs">
>);

/** What a Dispatcher runs: an inline function, or an export of a module run in a worker thread. */
export type DispatchTarget =
  | { readonly kind: "inline"; readonly fn: TaskCallback }
  | { readonly kind: "module"; readonly module: string | URL; readonly exportName: string };

/** One run to dispatch. */
export interface DispatchRequest {
  readonly taskName: string;
  /** The occurrence, epoch ms (`ctx.scheduledAt` is built from it on first access). */
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly payload: unknown;
  /** `ctx.fencingToken` (see TaskContext). */
  readonly fencingToken: number;
  /** Abort after this many ms (0: never): inline callbacks see `ctx.signal` abort, worker threads are terminated. */
  readonly timeoutMs: number;
  /** Aborts the run from outside (the scheduler stopping). */
  readonly signal?: AbortSignal;
}

/**
 * One call of a burst (`Dispatcher.callBurst`): a request with its
 * callback, and where the call leaves its start time and its result. Used
 * by the run engine only (the methods that take it are internal).
 */
export interface BurstCall extends DispatchRequest {
  /** The `ctx` for the callback, set on the runs a burst is to call: a function callback, no timeout. */
  readonly context: RunContext | undefined;
  /** A function whenever `context` is set. */
  readonly callback: unknown;
  /** Monotonic ms read just before the call; stays NaN for a run left to the general path. */
  startMono: number;
  /** What the callback returned, or threw (then `threw` is true), until `Dispatcher.settleBurst`. */
  result: unknown;
  threw: boolean;
}

/** How a dispatched run ended. Never a rejection: errors are values here. */
export type DispatchOutcome =
  | {
      readonly ok: true;
      /** What the callback returned (resolved to), when not undefined; a worker handler's only when it is plain JSON. */
      readonly value?: unknown;
    }
  | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean };
