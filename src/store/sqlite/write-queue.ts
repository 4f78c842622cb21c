import type { Database, Transaction } from "better-sqlite3";

/** One queued operation and the promise it settles. */
interface Operation {
  readonly run: () => unknown;
  /** One statement: SQLite undoes a failed statement by itself, no savepoint needed. */
  readonly singleStatement: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly fail: (error: unknown) => unknown;
}

/** How an operation ended inside the batch; settled only once the batch committed. */
type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Group commit for the SQLite store. Operations called in the same tick (the
 * scheduler claims every due run at once) run in call order inside ONE
 * `BEGIN IMMEDIATE` transaction, each multi-statement one in its own
 * savepoint, so one failing operation rolls back alone (SQLite undoes a failed
 * statement by itself); every promise settles only after the commit. An error
 * that makes SQLite roll the whole transaction back (a full disk) fails them all.
 * A lone operation is a transaction of its own, as before. Semantics are those
 * of running the operations one by one; only the number of commits changes.
 */
export class WriteQueue {
  readonly #batch: Transaction<(operations: readonly Operation[]) => Outcome[]>;
  readonly #single: Transaction<(operation: Operation) => unknown>;
  #pending: Operation[] = [];
  #scheduled = false;

  constructor(db: Database) {
    const one = db.transaction((operation: Operation) => operation.run());
    this.#single = one;
    this.#batch = db.transaction((operations: readonly Operation[]) =>
      operations.map((operation): Outcome => {
        try {
          return {
            ok: true,
            value: operation.singleStatement ? operation.run() : one(operation),
          };
        } catch (error) {
          // SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY… may roll the whole transaction
          // back: then nothing of the batch holds, and every operation fails with
          // this error (not with the "no transaction is active" of the commit).
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    );
  }

  /**
   * Queues `run` for the next batch; resolves with its result after the commit.
   * `fail` turns an error (of `run`, or of the whole batch) into the rejection.
   * `singleStatement`: `run` executes at most one write statement, and throws
   * only before it or when it changed nothing.
   */
  push<T>(run: () => T, fail: (error: unknown) => unknown, singleStatement = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        run,
        singleStatement,
        resolve: resolve as (value: unknown) => void,
        reject,
        fail,
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Runs everything queued now (reads call it first, so they see earlier writes; close calls it). */
  flush(): void {
    const operations = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    if (operations.length === 0) return;
    const [first] = operations;
    if (operations.length === 1 && first !== undefined) {
      // Alone: its own transaction, no savepoint needed.
      try {
        first.resolve(this.#single.immediate(first));
      } catch (error) {
        first.reject(first.fail(error));
      }
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = this.#batch.immediate(operations);
    } catch (error) {
      for (const operation of operations) operation.reject(operation.fail(error));
      return;
    }
    operations.forEach((operation, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok === true) operation.resolve(outcome.value);
      else operation.reject(operation.fail(outcome?.error));
    });
  }
}
