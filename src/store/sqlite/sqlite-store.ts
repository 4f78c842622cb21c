import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import {
  DuplicateTaskError,
  InvalidArgumentError,
  NodeIdInUseError,
  OrchestratorError,
  StoreError,
} from "../../errors.js";
import { SystemClock, isManualClock, type Clock } from "../../time/clock.js";
import { MAX_RUNS_REACHED, REAP_LEASE_DEFAULT_MS } from "../store.js";
import type {
  Claim,
  ClaimAnswer,
  ClaimOutcome,
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
import { SqliteDaemonRecords } from "./daemon-records.js";
import { SqliteMembership } from "./membership.js";
import type { NotificationOutbox } from "../notification-outbox.js";
import { SqliteNotificationOutbox } from "./notification-outbox.js";
import { migrate } from "./migrations.js";
import { connect, type Connection } from "./connection.js";
import { capSize, quickCheck } from "./file-checks.js";
import { SqliteNodeLock } from "./node-lock.js";
import { finishAll } from "./finish-runs.js";
import { pruneInBatches } from "./prune.js";
import * as sql from "./queries.js";
import {
  callbackParams,
  claimOf,
  runOf,
  runParams,
  taskOf,
  taskParams,
  type ClaimRow,
  type RunRow,
  type TaskRow,
} from "./rows.js";
import type { TaskSummary } from "../task-summary.js";
import { sqliteTaskSummaries } from "./task-summaries.js";

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file; created (with its WAL files beside it) when missing. Its folder must exist. */
  path: string;
  /**
   * How long a write waits for another connection's write lock (a backup, the
   * CLI, a `sqlite3` session) before failing with a StoreError. The wait does
   * not block the event loop: the write is tried again every few ms until
   * then (opening and migrating the file wait inside SQLite).
   * @defaultValue 5000
   */
  busyTimeoutMs?: number;
  /**
   * Check the file with `PRAGMA quick_check` when opening it, and refuse a
   * damaged one with a StoreError (before migrating or writing anything).
   * Reads the whole file once: seconds for a file of gigabytes.
   * @defaultValue false
   */
  quickCheck?: boolean;
  /**
   * The most the database file may grow to, in bytes: a write that needs more
   * room fails with a StoreError (SQLITE_FULL), exactly as on a full disk, and
   * the scheduler treats the store as unusable until a write succeeds again
   * (after history pruning freed room). Rounded down to whole pages.
   * @defaultValue no limit (the disk's)
   */
  maxSizeBytes?: number;
}

/** A claim request (`exclusive` is now part of {@link ClaimRequest}; kept as an alias). */
/** @deprecated The Store contract's ClaimRequest. */
export type SqliteClaimRequest = ClaimRequest;

/** How long one attempt at a write waits inside SQLite for another connection's lock, in ms. */
const LOCK_ATTEMPT_MS = 5;

/** The defaults of {@link SqliteStoreOptions}. */
export const SQLITE_STORE_DEFAULTS = Object.freeze({
  busyTimeoutMs: 5000,
  quickCheck: false,
} satisfies Required<Omit<SqliteStoreOptions, "path" | "maxSizeBytes">>);

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
  readonly #busyTimeoutMs: number;
  readonly #quickCheck: boolean;
  readonly #maxSizeBytes: number | undefined;
  #connection: Connection | null = null;
  /** Held while open when the scheduler asked for its node id to itself. */
  #nodeLock: SqliteNodeLock | undefined;
  #clock: Clock = new SystemClock();
  /** The clock the scheduler that opened the store runs by (see measureClockSkew). */
  #schedulerClock: Clock = this.#clock;
  /** The audit log, schedule files and task origins (tables of migration 3). */
  readonly records: DaemonRecords = new SqliteDaemonRecords({
    write: (operation, fn) => this.#write(operation, (c) => fn(c.db)),
    read: (operation, fn) => this.#read(operation, (c) => fn(c.db)),
    now: () => this.#clock.nowMs(),
  });
  /** The nodes sharing the file (the table of migration 10). */
  readonly #membership = new SqliteMembership({
    write: (operation, fn) => this.#write(operation, (c) => fn(c.db)),
    read: (operation, fn) => this.#read(operation, (c) => fn(c.db)),
    now: () => this.#clock.nowMs(),
  });
  /** The notification outbox (the table of migration 7). */
  readonly notifications: NotificationOutbox = new SqliteNotificationOutbox({
    write: (operation, fn) => this.#write(operation, (c) => fn(c.db)),
    read: (operation, fn) => this.#read(operation, (c) => fn(c.db)),
    now: () => this.#clock.nowMs(),
  });

  constructor(options: SqliteStoreOptions) {
    const path: unknown = (options as Partial<SqliteStoreOptions> | undefined)?.path;
    if (typeof path !== "string" || path === "") {
      throw new InvalidArgumentError("options.path", "a database file path", path);
    }
    const busy = options.busyTimeoutMs ?? SQLITE_STORE_DEFAULTS.busyTimeoutMs;
    if (!Number.isSafeInteger(busy) || busy < 0) {
      throw new InvalidArgumentError("options.busyTimeoutMs", "a whole number from 0 up", busy);
    }
    const maxSize = options.maxSizeBytes;
    if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 1)) {
      throw new InvalidArgumentError(
        "options.maxSizeBytes",
        "a whole number of bytes from 1 up",
        maxSize,
      );
    }
    this.path = path;
    this.#busyTimeoutMs = busy;
    this.#quickCheck = options.quickCheck ?? SQLITE_STORE_DEFAULTS.quickCheck;
    this.#maxSizeBytes = maxSize;
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
    let db: Database.Database | undefined;
    let nodeLock: SqliteNodeLock | undefined;
    try {
      if (context.exclusiveNode === true && this.path !== ":memory:")
        nodeLock = new SqliteNodeLock(this.path, context.nodeId);
      db = new Database(this.path, { timeout: this.#busyTimeoutMs });
      // Before anything writes to it (even the journal mode).
      if (this.#quickCheck) quickCheck(db, this.path);
      db.pragma(sql.PRAGMA_WAL);
      db.pragma(sql.PRAGMA_SYNCHRONOUS_NORMAL);
      db.pragma(sql.PRAGMA_FOREIGN_KEYS);
      if (this.#maxSizeBytes !== undefined) capSize(db, this.#maxSizeBytes);
      const schemaVersion = migrate(db, this.#clock.nowMs());
      // From here on the lock is waited for between attempts, not inside SQLite (see WriteQueue).
      db.pragma(`busy_timeout = ${LOCK_ATTEMPT_MS}`);
      const clock = new SystemClock();
      this.#connection = connect(db, schemaVersion, {
        budgetMs: this.#busyTimeoutMs,
        monotonicMs: () => clock.monotonicMs(),
      });
      this.#nodeLock = nodeLock;
      return Promise.resolve();
    } catch (error) {
      db?.close();
      nodeLock?.release();
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
    return this.#writeOne(`store task ${JSON.stringify(record.name)}`, ({ statements }) => {
      const params = taskParams(record, this.#clock.nowMs());
      if (options.replace) {
        statements.upsertTask.run(params);
      } else if (statements.insertTask.run(params).changes === 0) {
        throw new DuplicateTaskError(record.name);
      }
    });
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
    return this.#writeOne(`update task ${JSON.stringify(name)}`, ({ statements }) => {
      const result = statements.updateTaskProgress.run({
        name,
        state: progress.state,
        nextRunAt: progress.nextRunAt,
        lastRunAt: progress.lastRunAt,
        lastStatus: progress.lastStatus,
        runCount: progress.runCount,
        updatedAt: this.#clock.nowMs(),
      });
      return result.changes > 0;
    });
  }

  updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean> {
    return this.#writeOne(
      `update the callback of task ${JSON.stringify(name)}`,
      ({ statements }) => {
        const result = statements.updateTaskCallback.run({
          name,
          ...callbackParams(callback),
          updatedAt: this.#clock.nowMs(),
        });
        return result.changes > 0;
      },
    );
  }

  deleteTask(name: string): Promise<boolean> {
    return this.#writeOne(`delete task ${JSON.stringify(name)}`, ({ statements }) => {
      return statements.deleteTask.run(name).changes > 0;
    });
  }

  claimRun<R extends ClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    return this.#write(`claim a run of task ${JSON.stringify(request.taskName)}`, (c) =>
      this.#claimAll(c, [request]),
    ).then((claims) => (claims[0] ?? null) as ClaimAnswer<R>);
  }

  /** Claims many runs in one transaction, answering in the order asked (same rules as claimRun). */
  claimRuns<R extends ClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return this.#write(
      `claim ${requests.length} runs`,
      (c) => this.#claimAll(c, requests) as ClaimAnswer<R>[],
    );
  }

  renewLease(claim: Claim, leaseMs: number): Promise<boolean> {
    return this.#writeOne(`renew the lease of a run of ${JSON.stringify(claim.taskName)}`, (c) => {
      const now = this.#clock.nowMs();
      const row = c.statements.renewLease.get({
        id: claim.id,
        nodeId: claim.nodeId,
        leaseExpiresAt: now + leaseMs,
        now,
      });
      return row !== undefined;
    });
  }

  recordProcess(claim: ClaimRef, process: ClaimProcess): Promise<boolean> {
    return this.#writeOne(
      `record the process of a run of ${JSON.stringify(claim.taskName)}`,
      (c) => {
        const { changes } = c.statements.recordClaimProcess.run({
          taskName: claim.taskName,
          fencingToken: claim.fencingToken,
          nodeId: claim.nodeId,
          pgid: process.pgid,
          startTime: process.startTime,
        });
        return changes > 0;
      },
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
      records.map((record) => {
        const range = {
          taskName: record.taskName,
          from: record.scheduledAt,
          to: record.missedThrough ?? record.scheduledAt,
        };
        if (c.statements.selectClaimInRange.get(range) !== undefined) return false;
        if (c.statements.selectSettledInRange.get(range) !== undefined) return false;
        c.statements.insertSettledSlot.run({ taskName: range.taskName, scheduledAt: range.to });
        c.statements.insertRun.run(runParams(record));
        return true;
      }),
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

  /** Claims in one transaction (the caller's), each with a fencing token of a block taken at once. */
  #claimAll(c: Connection, requests: readonly ClaimRequest[]): ClaimOutcome[] {
    const last = (c.statements.takeTokens.get({ count: requests.length }) as { last: number }).last;
    let token = last - requests.length;
    const claimedAt = this.#clock.nowMs();
    return requests.map((request) => {
      const { maxRuns } = request;
      if (maxRuns !== undefined) {
        // The transaction holds the write lock: the count cannot move under this claim.
        const counted = c.statements.selectRunsStarted.get(request.taskName) as
          { started: number } | undefined;
        if ((counted?.started ?? 0) >= maxRuns) return MAX_RUNS_REACHED;
      }
      const exclusive = request.exclusive === true;
      const params = {
        id: randomUUID(),
        taskName: request.taskName,
        scheduledAt: request.scheduledAt,
        nodeId: request.nodeId,
        claimedAt,
        leaseExpiresAt: claimedAt + request.leaseMs,
        exclusive: exclusive ? 1 : 0,
        token: ++token,
      };
      const statement =
        request.manual === true ? c.statements.claimManualRun : c.statements.claimScheduledRun;
      const row = statement.get(params) as ClaimRow | undefined;
      if (row === undefined) return null;
      const claim = claimOf(row);
      if (exclusive && row.exclusive === 0) return { ...claim, overlapping: true };
      if (maxRuns !== undefined) c.statements.countRunStarted.run(request.taskName);
      return claim;
    });
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

function notOpen(operation: string): StoreError {
  return new StoreError(`Cannot ${operation}: the SQLite store is not open (call open() first)`);
}

function wrap(error: unknown, operation: string): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  const reason = error instanceof Error ? `: ${error.message}` : "";
  return new StoreError(`Could not ${operation} (SQLite${reason})`, { cause: error });
}
