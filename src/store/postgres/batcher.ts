/**
 * Write combining for the hot path (claim, record, release): calls made while
 * earlier batches are in flight are gathered and sent as one multi-row
 * statement, one commit. PostgreSQL pays mostly per statement and per commit,
 * not per row, so a node claiming hundreds of due runs at once makes a few
 * round trips instead of hundreds. A lone call still goes out at once (after
 * the current microtask), so batching adds no latency when the store is idle.
 */

/** Options of {@link Batcher}. */
export interface BatcherOptions {
  /**
   * Most items in one statement.
   * @defaultValue 500
   */
  readonly maxBatch?: number;
  /**
   * Most statements of this kind in flight at once; calls made meanwhile wait and are combined.
   * @defaultValue 2
   */
  readonly maxInFlight?: number;
}

/** The defaults of {@link BatcherOptions}. */
export const BATCHER_DEFAULTS = Object.freeze({
  maxBatch: 500,
  maxInFlight: 2,
} satisfies Required<BatcherOptions>);

interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Combines concurrent calls into batches. `run` receives the items in call
 * order and returns one result per item, in the same order; if it throws,
 * every call of that batch rejects with the error.
 */
export class Batcher<I, O> {
  readonly #run: (items: readonly I[]) => Promise<readonly O[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Pending<I, O>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(run: (items: readonly I[]) => Promise<readonly O[]>, options: BatcherOptions = {}) {
    this.#run = run;
    this.#maxBatch = Math.max(1, options.maxBatch ?? BATCHER_DEFAULTS.maxBatch);
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? BATCHER_DEFAULTS.maxInFlight);
  }

  /** Queues one item; resolves with its result once its batch ran. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    // Calls made in the same turn (a scheduler claiming every due run) join one batch.
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#send(batch);
    }
  };

  async #send(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.#run(batch.map((pending) => pending.item));
      if (results.length !== batch.length) {
        throw new Error(`A batch of ${batch.length} gave ${results.length} results`);
      }
      batch.forEach((pending, i) => pending.resolve(results[i] as O));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
