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

/** How the queue waits for another connection's write lock (see {@link WriteQueue}). */
export interface LockWait {
  /** The longest a batch waits for the lock, in all, in ms; past it, it fails. */
  readonly budgetMs: number;
  /** Monotonic ms (a clock's `monotonicMs`). */
  readonly monotonicMs: () => number;
}

/** The first and the longest pause between two attempts to take the lock, in ms. */
const LOCK_RETRY = Object.freeze({ firstMs: 10, maxMs: 250 });

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT";
}

/**
 * Group commit for the SQLite store. Operations called in the same tick (the
 * scheduler claims every due run at once) run in call order inside ONE
 * `BEGIN IMMEDIATE` transaction, each multi-statement one in its own
 * savepoint, so one failing operation rolls back alone (SQLite undoes a failed
 * statement by itself); every promise settles only after the commit. An error
 * that makes SQLite roll the whole transaction back (a full disk) fails them all.
 * A lone operation is a transaction of its own, as before. Semantics are those
 * of running the operations one by one; only the number of commits changes.
 *
 * better-sqlite3 is synchronous: waiting for another process's write lock (a
 * backup, the CLI, a `sqlite3` session) inside SQLite would block the event
 * loop, and with it every timer and lease of the scheduler. The connection's
 * own busy timeout is therefore short, and a batch that finds the lock taken
 * is tried again after a pause (10 ms doubling to 250 ms), for up to
 * `budgetMs` in all, while the event loop goes on; reads wait for it.
 */
export class WriteQueue {
  readonly #batch: Transaction<(operations: readonly Operation[]) => Outcome[]>;
  readonly #single: Transaction<(operation: Operation) => unknown>;
  #pending: Operation[] = [];
  #scheduled = false;
  readonly #wait: LockWait;
  /** While the lock is taken: when the wait began, the next pause, and the retry timer. */
  #busySinceMs = Number.NaN;
  #pauseMs: number = LOCK_RETRY.firstMs;
  #retry: NodeJS.Timeout | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(db: Database, wait: LockWait) {
    this.#wait = wait;
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

  /** True while queued writes wait for another connection's write lock. */
  get waiting(): boolean {
    return this.#retry !== undefined;
  }

  /** Resolves once no write waits for the lock (at once when none does). */
  idle(): Promise<void> {
    if (this.#retry === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Runs everything queued now (reads call it first, so they see earlier
   * writes; close calls it with `force`, which fails writes that wait for the lock).
   */
  flush(force = false): void {
    if (this.#retry !== undefined) {
      if (!force) return; // the retry flushes
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    const operations = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    if (operations.length === 0) return this.#wakeIdle();
    const [first] = operations;
    let outcomes: Outcome[];
    try {
      // Alone: its own transaction, no savepoint needed.
      outcomes =
        operations.length === 1 && first !== undefined
          ? [{ ok: true, value: this.#single.immediate(first) }]
          : this.#batch.immediate(operations);
    } catch (error) {
      if (!force && isBusy(error) && this.#mayWait()) {
        // Taken by another connection: try again in a moment, without blocking the loop.
        this.#pending = [...operations, ...this.#pending];
        this.#retry = setTimeout(this.#retryFlush, this.#pauseMs);
        this.#pauseMs = Math.min(LOCK_RETRY.maxMs, this.#pauseMs * 2);
        return;
      }
      this.#lockTaken();
      if (operations.length === 1 && first !== undefined && !isBusy(error)) {
        first.reject(first.fail(error));
      } else {
        for (const operation of operations) operation.reject(operation.fail(error));
      }
      return;
    }
    this.#lockTaken();
    operations.forEach((operation, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok === true) operation.resolve(outcome.value);
      else operation.reject(operation.fail(outcome?.error));
    });
  }

  readonly #retryFlush = (): void => {
    this.#retry = undefined;
    this.flush();
    if (this.#retry === undefined && this.#pending.length > 0) this.flush();
  };

  /** True while a batch that found the lock taken may wait longer (starts the wait). */
  #mayWait(): boolean {
    const now = this.#wait.monotonicMs();
    if (Number.isNaN(this.#busySinceMs)) this.#busySinceMs = now;
    return now - this.#busySinceMs < this.#wait.budgetMs;
  }

  /** The lock was taken (or given up on): the next wait starts afresh. */
  #lockTaken(): void {
    this.#busySinceMs = Number.NaN;
    this.#pauseMs = LOCK_RETRY.firstMs;
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
