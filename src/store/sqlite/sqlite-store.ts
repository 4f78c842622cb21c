import { NodeIdInUseError } from "../../errors.js";
import { SystemClock, isManualClock, type Clock } from "../../time/clock.js";
import { REAP_LEASE_DEFAULT_MS } from "../store.js";
import type {
  Claim,
  ClaimAnswer,
  ClaimProcess,
  ClaimRef,
  ClaimRequest,
  FinishRequest,
  HistoryQuery,
  HistoryRetention,
  NodeBeat,
  RunKey,
  ReapedClaim,
  RunRecord,
  Store,
  StoreOpenContext,
  StoredCallback,
  TaskProgress,
  TaskRecord,
} from "../store.js";
import type { DaemonRecords } from "../daemon-records.js";
import { SqliteDaemonRecords, type SqliteAccess } from "./daemon-records.js";
import { SqliteMembership } from "./membership.js";
import type { NotificationOutbox } from "../notification-outbox.js";
import { SqliteNotificationOutbox } from "./notification-outbox.js";
import type { Connection } from "./connection.js";
import type { SqliteNodeLock } from "./node-lock.js";
import { finishAll } from "./finish-runs.js";
import { pruneInBatches } from "./prune.js";
import { runOf, runParams, taskOf, type RunRow, type TaskRow } from "./rows.js";
import type { TaskSummary } from "../task-summary.js";
import { sqliteTaskSummaries } from "./task-summaries.js";
import { sqliteSettings, type SqliteSettings, type SqliteStoreOptions } from "./sqlite-options.js";
import { notOpen, openFile, wrap } from "./open-file.js";
import { claimAll } from "./claim-all.js";
import { recordClaimProcess, renewHeldLease, settleAll } from "./claim-writes.js";
import { putTaskRow, updateCallbackRow, updateProgressRow } from "./task-writes.js";

export {
  SQLITE_STORE_DEFAULTS,
  type SqliteClaimRequest,
  type SqliteStoreOptions,
} from "./sqlite-options.js";

/**
 * The embedded store: one SQLite file (better-sqlite3, WAL, `synchronous =
 * NORMAL`), durable across restarts and shareable by several processes on one
 * machine.
 *
 * - Claims are rows unique per (task, scheduled time), taken with `INSERT … ON
 *   CONFLICT DO NOTHING RETURNING` inside `BEGIN IMMEDIATE`, so two processes on
 *   one file never both get one. A released key is remembered per task as a
 *   mark (nothing at or before it is claimable again), so claim rows do not
 *   pile up.
 * - `shared` is true: claims carry leases (`leaseExpiresAt`, on the clock given
 *   to `open`) that the holder renews and that expire when it dies, so another
 *   process on the file can reap them; at start a node also reaps its own
 *   leftovers at once.
 * - Writes called in the same tick share one transaction (group commit), which
 *   is what makes thousands of runs due in one second cheap.
 * - `synchronous = NORMAL` in WAL mode: a killed process loses nothing that was
 *   committed; a power cut may lose the last commits, never the file.
 * - Instants are whole epoch milliseconds (STRICT INTEGER columns).
 * - better-sqlite3 is synchronous: a write that finds another process's write
 *   lock taken is tried again every few ms (up to `busyTimeoutMs`) rather than
 *   waiting inside SQLite, which would block the event loop.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler(new Dispatcher(), {
 *   store: new SqliteStore({ path: "./orchestrator.db" }),
 * });
 * ```
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly durable = true;
  /** Several processes on one machine may open the same file: claims carry leases. */
  readonly shared = true;
  /** The database file. */
  readonly path: string;
  readonly #settings: SqliteSettings;
  #connection: Connection | null = null;
  /** Held while open when the scheduler asked for its node id to itself. */
  #nodeLock: SqliteNodeLock | undefined;
  #clock: Clock = new SystemClock();
  /** The clock the scheduler that opened the store runs by (see measureClockSkew). */
  #schedulerClock: Clock = this.#clock;
  /** How the helpers below reach the file: the write queue, reads, the clock. */
  readonly #access: SqliteAccess = {
    write: (operation, fn) => this.#write(operation, (c) => fn(c.db)),
    read: (operation, fn) => this.#read(operation, (c) => fn(c.db)),
    now: () => this.#clock.nowMs(),
  };
  /** The audit log, schedule files and task origins (tables of migration 3). */
  readonly records: DaemonRecords = new SqliteDaemonRecords(this.#access);
  /** The nodes sharing the file (the table of migration 10). */
  readonly #membership = new SqliteMembership(this.#access);
  /** The notification outbox (the table of migration 7). */
  readonly notifications: NotificationOutbox = new SqliteNotificationOutbox(this.#access);

  constructor(options: SqliteStoreOptions) {
    this.#settings = sqliteSettings(options);
    this.path = this.#settings.path;
  }

  /**
   * Opens the file (creating it), sets WAL and the busy timeout, checks it
   * (`quickCheck`), migrates. Idempotent.
   */
  open(context: StoreOpenContext): Promise<void> {
    // The file is shared by processes of one machine: leases and claims read the
    // machine's clock, whatever clock a scheduler runs by (a manual one in tests).
    this.#schedulerClock = context.clock;
    this.#clock = isManualClock(context.clock) ? context.clock : new SystemClock();
    if (this.#connection !== null) return Promise.resolve();
    try {
      const opened = openFile(
        this.#settings,
        this.#clock.nowMs(),
        context.exclusiveNode === true ? context.nodeId : undefined,
      );
      this.#connection = opened.connection;
      this.#nodeLock = opened.nodeLock;
      return Promise.resolve();
    } catch (error) {
      if (error instanceof NodeIdInUseError) return Promise.reject(error);
      return Promise.reject(wrap(error, `open the SQLite store at ${JSON.stringify(this.path)}`));
    }
  }

  /** Closes the file. Idempotent; `open` may be called again afterwards. */
  close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = null;
    this.#nodeLock?.release();
    this.#nodeLock = undefined;
    try {
      connection?.queue.flush(true);
      connection?.db.close();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(wrap(error, "close the SQLite store"));
    }
  }

  schemaVersion(): Promise<number> {
    return this.#read("read the schema version", (c) => c.schemaVersion);
  }

  now(): Promise<number> {
    return Promise.resolve(this.#clock.nowMs());
  }

  putTask(record: TaskRecord, options: { readonly replace: boolean }): Promise<void> {
    return this.#writeOne(`store task ${JSON.stringify(record.name)}`, (c) =>
      putTaskRow(c, record, options.replace, this.#clock.nowMs()),
    );
  }

  /**
   * The machine's clock (the store's) minus the scheduler's, in ms: not 0 only
   * when the scheduler was given a clock of its own. No round trip.
   */
  measureClockSkew(): Promise<{ skewMs: number; roundTripMs: number }> {
    return Promise.resolve({
      skewMs: this.#clock.nowMs() - this.#schedulerClock.nowMs(),
      roundTripMs: 0,
    });
  }

  getTask(name: string): Promise<TaskRecord | undefined> {
    return this.#read(`read task ${JSON.stringify(name)}`, ({ statements }) => {
      const row = statements.selectTask.get(name) as TaskRow | undefined;
      return row === undefined ? undefined : taskOf(row);
    });
  }

  listTasks(): Promise<TaskRecord[]> {
    return this.#read("list tasks", ({ statements }) =>
      (statements.selectTasks.all() as TaskRow[]).map(taskOf),
    );
  }

  updateTaskProgress(name: string, progress: TaskProgress): Promise<boolean> {
    return this.#writeOne(`update task ${JSON.stringify(name)}`, (c) =>
      updateProgressRow(c, name, progress, this.#clock.nowMs()),
    );
  }

  updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean> {
    return this.#writeOne(`update the callback of task ${JSON.stringify(name)}`, (c) =>
      updateCallbackRow(c, name, callback, this.#clock.nowMs()),
    );
  }

  deleteTask(name: string): Promise<boolean> {
    return this.#writeOne(`delete task ${JSON.stringify(name)}`, ({ statements }) => {
      return statements.deleteTask.run(name).changes > 0;
    });
  }

  claimRun<R extends ClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    return this.#write(`claim a run of task ${JSON.stringify(request.taskName)}`, (c) =>
      claimAll(c, [request], this.#clock),
    ).then((claims) => (claims[0] ?? null) as ClaimAnswer<R>);
  }

  /** Claims many runs in one transaction, answering in the order asked (same rules as claimRun). */
  claimRuns<R extends ClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return this.#write(
      `claim ${requests.length} runs`,
      (c) => claimAll(c, requests, this.#clock) as ClaimAnswer<R>[],
    );
  }

  renewLease(claim: Claim, leaseMs: number): Promise<boolean> {
    return this.#writeOne(`renew the lease of a run of ${JSON.stringify(claim.taskName)}`, (c) =>
      renewHeldLease(c, claim, leaseMs, this.#clock.nowMs()),
    );
  }

  recordProcess(claim: ClaimRef, process: ClaimProcess): Promise<boolean> {
    return this.#writeOne(`record the process of a run of ${JSON.stringify(claim.taskName)}`, (c) =>
      recordClaimProcess(c, claim, process),
    );
  }

  releaseClaim(claim: Claim): Promise<void> {
    return this.#write(`release a run of task ${JSON.stringify(claim.taskName)}`, (c) => {
      c.release(claim.id);
    });
  }

  /** Takes over the claims of dead processes (see Store.reapExpiredClaims): one transaction. */
  reapExpiredClaims(options: {
    readonly nodeId: string;
    readonly atStart: boolean;
    readonly leaseMs?: number;
  }): Promise<ReapedClaim[]> {
    return this.#write("reap expired claims", (c) =>
      c.reap({
        now: this.#clock.nowMs(),
        nodeId: options.nodeId,
        atStart: options.atStart,
        leaseMs: options.leaseMs ?? REAP_LEASE_DEFAULT_MS,
      }),
    );
  }

  /** Deletes a claim of this node whose run never started, without spending its key. */
  giveBack(claim: Claim): Promise<void> {
    return this.#writeOne(`give back a claim of task ${JSON.stringify(claim.taskName)}`, (c) => {
      c.statements.deleteClaim.get(claim.id);
    });
  }

  /**
   * Appends an attempt's history row, if its node still holds the claim (a
   * reaped claim's row is gone), and releases the claim unless `release` is
   * false: one transaction.
   */
  finishRun(
    record: RunRecord,
    claim: Claim,
    options?: { readonly release?: boolean },
  ): Promise<boolean> {
    const finish = { record, claim, release: options?.release !== false };
    return this.#write(
      `finish a run of task ${JSON.stringify(record.taskName)}`,
      (c) => finishAll(c, [finish], 0)[0] === true,
    );
  }

  /** Many finishes and their tasks' progress in one transaction (see Store.finishRuns). */
  finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    return this.#write(`finish ${finishes.length} runs`, (c) =>
      finishAll(c, finishes, this.#clock.nowMs()),
    );
  }

  /** Records each skipped or missed run whose occurrences nobody claimed or settled, and settles it (see Store). */
  settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
    return this.#write(`record ${records.length} runs that did not start`, (c) =>
      settleAll(c, records),
    );
  }

  heartbeatNode(beat: NodeBeat): Promise<string[]> {
    return this.#membership.heartbeat(beat);
  }

  leaveNode(nodeId: string): Promise<void> {
    return this.#membership.leave(nodeId);
  }

  takenRuns(keys: readonly RunKey[]): Promise<boolean[]> {
    return this.#membership.takenRuns(keys);
  }

  recordRun(record: RunRecord): Promise<void> {
    return this.#writeOne(`record a run of task ${JSON.stringify(record.taskName)}`, (c) => {
      c.statements.insertRun.run(runParams(record));
    });
  }

  history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    return this.#read("read the run history", ({ statements }) => {
      const params = {
        limit: Math.max(0, Math.floor(query.limit ?? 100)),
        offset: Math.max(0, Math.floor(query.offset ?? 0)),
        statuses: query.statuses === undefined ? null : JSON.stringify(query.statuses),
      };
      const rows =
        query.taskName === undefined
          ? statements.selectHistory.all(params)
          : statements.selectTaskHistory.all({ ...params, taskName: query.taskName });
      return (rows as RunRow[]).map(runOf);
    });
  }

  /** Summaries computed from the history on the task's index (see task-summaries.ts). */
  taskSummaries(names: readonly string[]): Promise<Map<string, TaskSummary>> {
    return this.#read("read task summaries", (c) => sqliteTaskSummaries(c.db, names));
  }

  /** Applies retention in batches of 500 rows, each a transaction of its own (see pruneInBatches). */
  pruneHistory(retention: HistoryRetention): Promise<number> {
    return pruneInBatches(
      (fn) => this.#write("prune the run history", fn),
      retention,
      this.#clock.nowMs(),
    );
  }

  /**
   * Queues a write: writes called in the same tick share one `BEGIN IMMEDIATE`
   * transaction (see WriteQueue). Driver errors become StoreErrors naming the operation.
   */
  #write<T>(
    operation: string,
    fn: (connection: Connection) => T,
    singleStatement = false,
  ): Promise<T> {
    const connection = this.#connection;
    if (connection === null) return Promise.reject(notOpen(operation));
    return connection.queue.push(
      () => fn(connection),
      (error) => wrap(error, operation),
      singleStatement,
    );
  }

  /** A write of at most one statement (see WriteQueue.push): no savepoint inside a batch. */
  #writeOne<T>(operation: string, fn: (connection: Connection) => T): Promise<T> {
    return this.#write(operation, fn, true);
  }

  /** Runs a read now, after the writes queued before it (once they have the lock). */
  #read<T>(operation: string, fn: (connection: Connection) => T): Promise<T> {
    const connection = this.#connection;
    if (connection === null) return Promise.reject(notOpen(operation));
    if (connection.queue.waiting)
      return connection.queue.idle().then(() => this.#read(operation, fn));
    try {
      connection.queue.flush();
      return Promise.resolve(fn(connection));
    } catch (error) {
      return Promise.reject(wrap(error, operation));
    }
  }
}
