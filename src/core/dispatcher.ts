import { InvalidArgumentError, OrchestratorError, TimeoutError } from "../errors.js";
import type { TaskCallback, TaskContext } from "./task.js";
import { WorkerPool, toModuleUrl, type WorkerPoolOptions } from "./worker-pool.js";

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions extends WorkerPoolOptions {
  /**
   * Most runs in flight at once, inline and worker together; further runs wait
   * in FIFO order.
   * @defaultValue Infinity
   */
  concurrency?: number;
}

/** The defaults of {@link DispatcherOptions} that have one. */
export const DISPATCHER_DEFAULTS = Object.freeze({
  concurrency: Number.POSITIVE_INFINITY,
  minThreads: 0,
  idleTimeoutMs: 30_000,
} satisfies Required<Pick<DispatcherOptions, "concurrency" | "minThreads" | "idleTimeoutMs">>);

/** What a Dispatcher runs: an inline function, or an export of a module run in a worker thread. */
export type DispatchTarget =
  | { readonly kind: "inline"; readonly fn: TaskCallback }
  | { readonly kind: "module"; readonly module: string | URL; readonly exportName: string };

/** One run to dispatch. */
export interface DispatchRequest {
  readonly taskName: string;
  readonly scheduledAt: Date;
  readonly attempt: number;
  readonly payload: unknown;
  /** Abort after this many ms (0: never): inline callbacks see `ctx.signal` abort, worker threads are terminated. */
  readonly timeoutMs: number;
  /** Aborts the run from outside (the scheduler stopping). */
  readonly signal?: AbortSignal;
}

/** How a dispatched run ended. Never a rejection: errors are values here. */
export type DispatchOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean };

/** The Dispatcher was closed; runs are refused. */
class DispatcherClosedError extends OrchestratorError {
  constructor() {
    super("ERR_ABORTED", "The dispatcher is closed");
  }
}

/**
 * Runs task callbacks: inline functions on the main thread, module handlers
 * `{ module, export }` in a piscina worker-thread pool, with a per-run timeout
 * (a worker's run is really stopped: its thread is terminated), one
 * concurrency limit across all tasks, and errors contained: {@link dispatch}
 * always resolves.
 */
export class Dispatcher {
  readonly #concurrency: number;
  readonly #pool: WorkerPool;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #waitingHead = 0;
  #closed = false;

  constructor(options: DispatcherOptions = {}) {
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
    this.#concurrency = concurrency;
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
  async dispatch(target: DispatchTarget, request: DispatchRequest): Promise<DispatchOutcome> {
    if (this.#closed) return { ok: false, error: new DispatcherClosedError(), timedOut: false };
    if (this.#active >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      if (this.#closed) return { ok: false, error: new DispatcherClosedError(), timedOut: false };
    }
    this.#active++;
    try {
      return await this.#run(target, request);
    } finally {
      this.#active--;
      this.#next();
    }
  }

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

  #run(target: DispatchTarget, request: DispatchRequest): Promise<DispatchOutcome> {
    const controller = new AbortController();
    const outer = request.signal;
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    if (outer !== undefined) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener("abort", onOuterAbort, { once: true });
    }
    return new Promise<DispatchOutcome>((resolve) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (outcome: DispatchOutcome): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        outer?.removeEventListener("abort", onOuterAbort);
        resolve(outcome);
      };
      if (request.timeoutMs > 0) {
        timer = setTimeout(() => {
          const error = new TimeoutError(request.timeoutMs);
          controller.abort(error);
          finish({ ok: false, error, timedOut: true });
        }, request.timeoutMs);
      }
      controller.signal.addEventListener(
        "abort",
        () => {
          if (!settled && !(controller.signal.reason instanceof TimeoutError)) {
            finish({ ok: false, error: controller.signal.reason, timedOut: false });
          }
        },
        { once: true },
      );
      let running: Promise<unknown>;
      try {
        running = this.#start(target, request, controller.signal);
      } catch (error) {
        finish({ ok: false, error, timedOut: false });
        return;
      }
      running.then(
        () => finish({ ok: true }),
        (error: unknown) => finish({ ok: false, error, timedOut: false }),
      );
    });
  }

  #start(target: DispatchTarget, request: DispatchRequest, signal: AbortSignal): Promise<unknown> {
    if (target.kind === "inline") {
      const ctx: TaskContext = {
        taskName: request.taskName,
        scheduledAt: request.scheduledAt,
        attempt: request.attempt,
        signal,
        payload: request.payload,
      };
      // A sync throw becomes a rejection in the caller's try/catch; a sync return is wrapped.
      return Promise.resolve(target.fn(ctx));
    }
    return this.#pool.run(
      {
        moduleUrl: toModuleUrl(target.module),
        exportName: target.exportName,
        taskName: request.taskName,
        scheduledAtMs: request.scheduledAt.getTime(),
        attempt: request.attempt,
        payload: request.payload,
      },
      signal,
    );
  }
}
