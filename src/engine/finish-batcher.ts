/**
 * Finish combining (issue 17): the end of every run on a store with
 * `Store.finishRuns` (its fenced history row, the release of its claim, and
 * its task's progress) is written together with the ends of other runs, one
 * transaction per batch, at most one batch every few milliseconds while
 * runs keep ending (a lone end after a quiet spell goes at once). A busy
 * cluster then pays one commit per batch instead of two per run.
 */
import type { Task } from "../core/task.js";
import { StoreError } from "../errors.js";
import type { Claim, FinishRequest, RunRecord, TaskProgress } from "../store/store.js";

/** One run's end, as {@link FinishBatcher.add} takes it. */
export interface FinishItem {
  readonly record: RunRecord;
  readonly claim: Claim;
  readonly release: boolean;
  /** The task whose progress is written with the row (read when the batch is sent). */
  readonly task?: Task;
}

/** Options of {@link FinishBatcher}. */
export interface FinishBatcherOptions {
  /** Writes one batch (Store.finishRuns): per finish, whether its row was written. */
  readonly finishRuns: (finishes: readonly FinishRequest[]) => Promise<boolean[]>;
  /** The progress to write for `task` now, or undefined when none is (removed, replaced). */
  readonly progressOf: (task: Task) => TaskProgress | undefined;
  /**
   * The least time between two batches, in ms: finishes made meanwhile wait
   * for the next one. A finish after a quiet spell goes at once (with the
   * others of its turn of the event loop); 0 combines only those.
   * @defaultValue 5
   */
  readonly windowMs?: number;
  /**
   * Most finishes in one batch; a full batch is sent without waiting.
   * @defaultValue 500
   */
  readonly maxBatch?: number;
  /**
   * Most batches in flight at once; finishes made meanwhile wait and are combined.
   * @defaultValue 2
   */
  readonly maxInFlight?: number;
  /**
   * Most finishes waiting for a batch; past it, {@link FinishBatcher.add}
   * holds the caller (first come, first queued) until a batch is sent.
   * @defaultValue 2000
   */
  readonly maxQueued?: number;
}

/** The defaults of {@link FinishBatcherOptions}. */
export const FINISH_BATCHER_DEFAULTS = Object.freeze({
  windowMs: 5,
  maxBatch: 500,
  maxInFlight: 2,
  maxQueued: 2000,
});

interface Pending {
  readonly item: FinishItem;
  readonly resolve: (written: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Combines the finishes of runs into batches. Each caller learns what
 * `finishRun` would have told it (its row written, or not: the claim was no
 * longer held); when a batch fails, every finish of it rejects with the
 * error and nothing of it was written (the caller retries its own, see
 * `RunRecorder.finish`). The queue is bounded: past `maxQueued` finishes,
 * callers wait, in order, for a batch to leave. {@link flush} sends
 * everything at once and resolves when all is written (`stop()`).
 */
export class FinishBatcher {
  readonly #finishRuns: FinishBatcherOptions["finishRuns"];
  readonly #progressOf: FinishBatcherOptions["progressOf"];
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #maxQueued: number;
  /** Finishes waiting for a batch (at most `maxQueued`). */
  #queue: Pending[] = [];
  /** Finishes held back while the queue is full, in call order. */
  #held: Pending[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The end of this turn of the event loop will ripen the queue. */
  #soon = false;
  /** When the last batch left (performance.now()). */
  #lastSentMs = Number.NEGATIVE_INFINITY;
  /** The queue's turn came: the next free slot sends it. */
  #ripe = false;
  /** Set by {@link flush}: nothing waits for a window until everything is written. */
  #hurry = false;
  #idleWaiters: (() => void)[] = [];
  #roomWaiters: (() => void)[] = [];

  constructor(options: FinishBatcherOptions) {
    this.#finishRuns = options.finishRuns;
    this.#progressOf = options.progressOf;
    const d = FINISH_BATCHER_DEFAULTS;
    this.#windowMs = Math.max(0, options.windowMs ?? d.windowMs);
    this.#maxBatch = Math.max(1, options.maxBatch ?? d.maxBatch);
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? d.maxInFlight);
    this.#maxQueued = Math.max(this.#maxBatch, options.maxQueued ?? d.maxQueued);
  }

  /** Finishes waiting for a batch (queued, then held back). */
  get backlog(): number {
    return this.#queue.length + this.#held.length;
  }

  /** Batches being written now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Undefined while fewer than `maxQueued` finishes wait; else a promise that
   * resolves once they are fewer: new runs wait for it before they are
   * claimed, rather than pile their ends up behind a store that cannot keep up.
   */
  room(): Promise<void> | undefined {
    if (this.backlog < this.#maxQueued) return undefined;
    return new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Queues a run's end; resolves whether its row was written (see Store.finishRun). */
  add(item: FinishItem): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const pending = { item, resolve, reject };
      if (this.#held.length > 0 || this.#queue.length >= this.#maxQueued) this.#held.push(pending);
      else this.#queue.push(pending);
      this.#kick();
    });
  }

  /** Sends every finish now, without waiting for windows; resolves once all are written (or failed). */
  flush(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    this.#hurry = true;
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#kick();
    return idle;
  }

  #idle(): boolean {
    return this.#inFlight === 0 && this.#queue.length === 0 && this.#held.length === 0;
  }

  /** Sends what may go now; otherwise makes sure the queue is sent when its turn comes. */
  #kick(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      if (!(this.#hurry || this.#ripe || this.#queue.length >= this.#maxBatch)) {
        this.#ripenLater();
        return;
      }
      this.#ripe = false;
      clearTimeout(this.#timer);
      this.#timer = undefined;
      const batch = this.#queue.splice(0, this.#maxBatch);
      const room = this.#maxQueued - this.#queue.length;
      if (room > 0 && this.#held.length > 0) this.#queue.push(...this.#held.splice(0, room));
      this.#inFlight++;
      this.#lastSentMs = performance.now();
      void this.#send(batch);
    }
    if (this.#roomWaiters.length > 0 && this.backlog < this.#maxQueued) {
      const waiters = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * The queue goes `windowMs` after the previous batch left: at once (at the
   * end of this turn of the event loop, so that the finishes of one burst
   * travel together) when that is past, as after a quiet spell.
   */
  #ripenLater(): void {
    if (this.#timer !== undefined || this.#soon) return;
    const waitMs = this.#lastSentMs + this.#windowMs - performance.now();
    if (waitMs > 0) {
      this.#timer = setTimeout(this.#ripen, waitMs);
      return;
    }
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.#ripen();
    });
  }

  readonly #ripen = (): void => {
    this.#timer = undefined;
    this.#ripe = this.#queue.length > 0;
    this.#kick();
  };

  async #send(batch: readonly Pending[]): Promise<void> {
    try {
      // Progress is read as the batch leaves: the newest state of each task, once.
      const progress = new Map<Task, TaskProgress | undefined>();
      const finishes = batch.map(({ item }): FinishRequest => {
        const { record, claim, release, task } = item;
        if (task === undefined) return { record, claim, release };
        if (!progress.has(task)) progress.set(task, this.#progressOf(task));
        const p = progress.get(task);
        return p === undefined
          ? { record, claim, release }
          : { record, claim, release, progress: p };
      });
      const written = await this.#finishRuns(finishes);
      if (written.length !== batch.length) {
        throw new StoreError(`A batch of ${batch.length} finishes gave ${written.length} answers`);
      }
      batch.forEach((pending, i) => pending.resolve(written[i] === true));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.#inFlight--;
      this.#kick();
      if (this.#idle()) {
        this.#hurry = false;
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  }
}
