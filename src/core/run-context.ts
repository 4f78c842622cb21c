import type { TaskContext } from "./task.js";

/** What a run context is built from (a dispatch request's fields). */
export interface RunContextSource {
  readonly taskName: string;
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly payload: unknown;
  readonly fencingToken: number;
}

/**
 * The `ctx` an inline callback receives. Its AbortSignal is created on first
 * access only: most callbacks never look at it, and a burst of ten thousand
 * runs should not pay for ten thousand AbortControllers.
 */
export class RunContext implements TaskContext {
  readonly taskName: string;
  readonly attempt: number;
  readonly payload: unknown;
  /** Read when asked: a run planned ahead gets its context before its claim (and token). */
  readonly #source: RunContextSource;
  readonly #scheduledAtMs: number;
  #scheduledAt: Date | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown = undefined;
  #aborted = false;

  constructor(request: RunContextSource) {
    this.taskName = request.taskName;
    this.#scheduledAtMs = request.scheduledAtMs;
    this.attempt = request.attempt;
    this.payload = request.payload;
    this.#source = request;
  }

  get fencingToken(): number {
    return this.#source.fencingToken;
  }

  get scheduledAt(): Date {
    return (this.#scheduledAt ??= new Date(this.#scheduledAtMs));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
