import { TimeoutError } from "../errors.js";
import { MAX_TIMEOUT_MS } from "../time/timer-loop.js";
import { RunContext } from "./run-context.js";
import type { TaskCallback } from "./task.js";
import { WorkerPool, toModuleUrl } from "./worker-pool.js";
import { afterTimeout, DispatcherClosedError, OK, toFailure, toOk } from "./dispatch-outcomes.js";
import { checkDispatcherOptions } from "./dispatcher-options.js";
import type {
  BurstCall,
  DispatchOutcome,
  DispatchRequest,
  DispatchTarget,
  DispatcherOptions,
} from "./dispatch-types.js";

export { DISPATCHER_DEFAULTS } from "./dispatch-types.js";
export type * from "./dispatch-types.js";

const SYNC_DONE = Symbol("sync-done");

/**
 * Runs task callbacks: inline functions on the main thread, module handlers
 * `{ module, export }` in a piscina worker-thread pool, with a per-run timeout
 * (a worker's run is really stopped: its thread is terminated), one
 * concurrency limit across all tasks, and errors contained: {@link dispatch}
 * always resolves.
 */
export class Dispatcher {
  readonly #concurrency: number;
  readonly #timeoutGraceMs: number;
  readonly #pool: WorkerPool;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #waitingHead = 0;
  #closed = false;

  constructor(options: DispatcherOptions = {}) {
    const { concurrency, timeoutGraceMs } = checkDispatcherOptions(options);
    this.#concurrency = concurrency;
    this.#timeoutGraceMs = timeoutGraceMs;
    this.#pool = new WorkerPool(options);
  }

  /** Runs in flight. */
  get active(): number {
    return this.#active;
  }
  /** Runs waiting for a concurrency slot. */
  get pending(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /** Runs `target` once; resolves with how it ended, never rejects. */
  dispatch(target: DispatchTarget, request: DispatchRequest): Promise<DispatchOutcome> {
    const outcome = this.run(target, request);
    return outcome instanceof Promise ? outcome : Promise.resolve(outcome);
  }

  /**
   * Like {@link dispatch}, but when an inline callback returns without a
   * promise (and a concurrency slot was free) the outcome comes back directly,
   * with no promise at all: a burst of ten thousand such runs allocates
   * almost nothing. Inline callbacks are called before this returns.
   *
   * @internal The run engine's fast path; not part of the public API.
   */
  run(
    target: DispatchTarget,
    request: DispatchRequest,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    return target.kind === "inline"
      ? this.runInline(target.fn, request)
      : this.#runGeneral(target, request);
  }

  /** Any run: refused once closed, waiting for a concurrency slot, with timeout and outer signal. */
  #runGeneral(
    target: DispatchTarget,
    request: DispatchRequest,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    if (this.#closed) return { ok: false, error: new DispatcherClosedError(), timedOut: false };
    if (this.#active >= this.#concurrency) {
      return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(() =>
        this.#closed
          ? { ok: false, error: new DispatcherClosedError(), timedOut: false }
          : this.#runCounted(target, request),
      );
    }
    return this.#runCounted(target, request);
  }

  /**
   * `run({ kind: "inline", fn }, request)` without the target object, in one
   * flat method for the common case (a burst started run by run, announcing
   * each, runs it ten thousand times, cold at first): no timeout, no outer
   * signal, no concurrency limit, so no queue, timer or AbortController.
   *
   * @internal The run engine's fast path; not part of the public API.
   */
  runInline(
    fn: TaskCallback,
    request: DispatchRequest,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    if (
      this.#closed ||
      this.#concurrency !== Number.POSITIVE_INFINITY ||
      request.timeoutMs !== 0 ||
      request.signal !== undefined
    ) {
      return this.#runGeneral({ kind: "inline", fn }, request);
    }
    this.#active++;
    let result: unknown;
    try {
      // A run made ready for a burst brings its context (see BurstCall).
      result = fn((request as Partial<BurstCall>).context ?? new RunContext(request));
    } catch (error) {
      this.#active--;
      return { ok: false, error, timedOut: false };
    }
    return this.#settleReturned(result);
  }

  /**
   * The first half of a burst: calls the inline callback of each run that
   * carries its `context`, one right after the other, setting `startMono` just
   * before each call and keeping what the call returned or threw on the run.
   * Nothing else happens between two calls, so the last of ten thousand is
   * called as early as it can be; {@link settleBurst} then turns each result
   * into an outcome. Runs without a context are not called (their `startMono`
   * stays NaN): they take the general path. `caller.calling` is the run whose
   * callback is executing; `beforeCall`, if given, is called with each run
   * just before its callback (once its `startMono` is set). Returns false,
   * calling nothing, when the dispatcher is closed or limits concurrency.
   *
   * @internal The run engine's fast path; not part of the public API.
   */
  callBurst<Call extends BurstCall>(
    runs: readonly Call[],
    clock: { nowMs(): number; monotonicMs(): number },
    caller: { calling: object | undefined },
    beforeCall?: (run: Call) => void,
  ): boolean {
    if (this.#closed || this.#concurrency !== Number.POSITIVE_INFINITY) return false;
    let wallMs = Number.NaN;
    let monoMs = Number.NaN;
    let called = 0;
    try {
      // An indexed loop with nothing but the call: a cold burst runs it interpreted.
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i] as Call;
        const { context } = run;
        if (context === undefined) continue;
        called++;
        caller.calling = run;
        // The monotonic clock is read again whenever the wall clock's millisecond has
        // changed: a start is then late by under a millisecond, and a cold interpreted
        // performance.now() costs several times what Date.now() does.
        const nowMs = clock.nowMs();
        if (nowMs !== wallMs) {
          wallMs = nowMs;
          monoMs = clock.monotonicMs();
        }
        run.startMono = monoMs;
        if (beforeCall !== undefined) beforeCall(run);
        try {
          run.result = (run.callback as TaskCallback)(context);
        } catch (error) {
          run.result = error;
          run.threw = true;
        }
      }
    } finally {
      caller.calling = undefined;
      this.#active += called;
    }
    return true;
  }

  /**
   * The outcome of a run {@link callBurst} called: at once, or once the
   * promise it returned settles.
   *
   * @internal The run engine's fast path; not part of the public API.
   */
  settleBurst(run: BurstCall): DispatchOutcome | Promise<DispatchOutcome> {
    const { result } = run;
    run.result = undefined;
    if (!run.threw) return this.#settleReturned(result);
    this.#active--;
    return { ok: false, error: result, timedOut: false };
  }

  /** What an inline callback returned: a synchronous outcome, or one when its thenable settles. */
  #settleReturned(result: unknown): DispatchOutcome | Promise<DispatchOutcome> {
    if (
      result !== null &&
      typeof result === "object" &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      return Promise.resolve(result).then(this.#settleOk, this.#settleFailure);
    }
    this.#active--;
    return result === undefined ? OK : { ok: true, value: result };
  }

  readonly #settleOk = (value: unknown): DispatchOutcome => {
    this.#active--;
    return toOk(value);
  };

  readonly #settleFailure = (error: unknown): DispatchOutcome => {
    this.#active--;
    return toFailure(error);
  };

  /** Stops the worker threads (their runs fail) and refuses further runs. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.pending > 0) this.#next();
    await this.#pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #next(): void {
    if (this.#waitingHead >= this.#waiting.length) return;
    const wake = this.#waiting[this.#waitingHead] as () => void;
    this.#waitingHead++;
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#waitingHead);
      this.#waitingHead = 0;
    }
    wake();
  }

  #runCounted(
    target: DispatchTarget,
    request: DispatchRequest,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    this.#active++;
    const outcome = this.#run(target, request);
    if (outcome instanceof Promise) return outcome.then(this.#settle);
    return this.#settle(outcome);
  }

  readonly #settle = (outcome: DispatchOutcome): DispatchOutcome => {
    this.#active--;
    this.#next();
    return outcome;
  };

  /** The return value of the inline callback that just returned synchronously (read once, right after). */
  #syncValue: unknown = undefined;

  #takeSyncValue(): unknown {
    const value = this.#syncValue;
    this.#syncValue = undefined;
    return value;
  }

  #run(
    target: DispatchTarget,
    request: DispatchRequest,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    // A run may bring its context (see BurstCall), so that its owner can abort it (cancel).
    const context = (request as Partial<BurstCall>).context ?? new RunContext(request);
    if (request.timeoutMs === 0 && request.signal === undefined) {
      // The common case: no timer, no listener, no AbortController unless the callback asks for ctx.signal.
      let running: unknown;
      try {
        running = this.#start(target, request, context);
      } catch (error) {
        return { ok: false, error, timedOut: false };
      }
      return running === SYNC_DONE
        ? toOk(this.#takeSyncValue())
        : (running as Promise<unknown>).then(toOk, toFailure);
    }
    return new Promise<DispatchOutcome>((resolve) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outer = request.signal;
      const finish = (outcome: DispatchOutcome): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        outer?.removeEventListener("abort", onOuterAbort);
        resolve(outcome);
      };
      const onOuterAbort = (): void => {
        context.abort(outer?.reason);
        finish({ ok: false, error: outer?.reason, timedOut: false });
      };
      if (outer !== undefined) {
        if (outer.aborted) {
          onOuterAbort();
          return;
        }
        outer.addEventListener("abort", onOuterAbort, { once: true });
      }
      let timeout: TimeoutError | undefined;
      if (request.timeoutMs > 0) {
        // registerTask refuses more, but a task stored before that limit may
        // hold more: setTimeout would fire at once.
        timer = setTimeout(
          () => {
            const error = new TimeoutError(request.timeoutMs);
            context.abort(error);
            if (target.kind === "inline" && this.#timeoutGraceMs > 0) {
              timeout = error;
              timer = setTimeout(() => finish(afterTimeout(error, error)), this.#timeoutGraceMs);
              return;
            }
            finish({ ok: false, error, timedOut: true });
          },
          Math.min(request.timeoutMs, MAX_TIMEOUT_MS),
        );
      }
      let running: unknown;
      try {
        running = this.#start(target, request, context);
      } catch (error) {
        finish({ ok: false, error, timedOut: false });
        return;
      }
      if (running === SYNC_DONE) {
        finish(toOk(this.#takeSyncValue()));
        return;
      }
      (running as Promise<unknown>).then(
        (value: unknown) =>
          finish(timeout === undefined ? toOk(value) : afterTimeout(timeout, value)),
        (error: unknown) =>
          finish(timeout === undefined ? toFailure(error) : afterTimeout(timeout, error)),
      );
    });
  }

  /** Starts the run: a promise, or SYNC_DONE when an inline callback returned without one. */
  #start(
    target: DispatchTarget,
    request: DispatchRequest,
    context: RunContext,
  ): Promise<unknown> | typeof SYNC_DONE {
    if (target.kind === "inline") {
      const result = target.fn(context);
      // Only thenables need a promise of their own; a sync return is done already.
      if (
        result !== null &&
        typeof result === "object" &&
        typeof (result as PromiseLike<unknown>).then === "function"
      ) {
        return Promise.resolve(result);
      }
      this.#syncValue = result;
      return SYNC_DONE;
    }
    return this.#pool.run(
      {
        moduleUrl: toModuleUrl(target.module),
        exportName: target.exportName,
        taskName: request.taskName,
        scheduledAtMs: request.scheduledAtMs,
        attempt: request.attempt,
        payload: request.payload,
        fencingToken: request.fencingToken,
      },
      context.signal,
    );
  }
}
