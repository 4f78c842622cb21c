/**
 * Write combining for the hot path (claim, record, release): calls made while
 * earlier batches are in flight are gathered and sent as one multi-row
 * statement, one commit. PostgreSQL pays mostly per statement and per commit,
 * not per row, so a node claiming hundreds of due runs at once makes a few
 * round trips instead of hundreds. A lone call still goes out at once (after
 * the current microtask), so batching adds no latency when the store is idle.
 */
import { StoreError } from "../../errors.js";

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
  readonly items: readonly I[];
  readonly resolve: (values: O[]) => void;
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
  async add(item: I): Promise<O> {
    const [result] = await this.addGroup([item]);
    return result as O;
  }

  /**
   * Queues items that must travel in the same batch (one statement, one
   * commit: all or none), even beyond `maxBatch`; resolves with their results.
   */
  addGroup(items: readonly I[]): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
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
      let size = 0;
      let count = 0;
      for (const pending of this.#queue) {
        if (count > 0 && size + pending.items.length > this.#maxBatch) break;
        size += pending.items.length;
        count++;
      }
      const batch = this.#queue.splice(0, count);
      this.#inFlight++;
      void this.#send(batch);
    }
  };

  async #send(batch: Pending<I, O>[]): Promise<void> {
    try {
      const items = batch.flatMap((pending) => pending.items);
      const results = await this.#run(items);
      if (results.length !== items.length) {
        throw new StoreError(`A batch of ${items.length} gave ${results.length} results`);
      }
      let at = 0;
      for (const pending of batch) {
        pending.resolve(results.slice(at, at + pending.items.length));
        at += pending.items.length;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
