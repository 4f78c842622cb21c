import { randomUUID } from "node:crypto";
import type { Pool, QueryResultRow } from "pg";
import { InvalidArgumentError } from "../../errors.js";
import type {
  Claim,
  ClaimAnswer,
  ClaimProcess,
  ClaimRef,
  FinishRequest,
  HistoryQuery,
  HistoryRetention,
  NodeBeat,
  RunKey,
  ReapedClaim,
  RunRecord,
  Store,
  StoreChange,
  StoreOpenContext,
  StoredCallback,
  TaskProgress,
  TaskRecord,
  WatchOptions,
} from "../store.js";
import {
  POSTGRES_STORE_DEFAULTS,
  positive,
  type ClockSkew,
  type PostgresClaimRequest,
  type PostgresStoreOptions,
} from "./postgres-options.js";
import { PostgresConnection } from "./connection.js";
import { PostgresRunWrites } from "./run-writes.js";
import { PostgresTasks } from "./task-writes.js";
import { LATEST_VERSION } from "./migrations.js";
import { PostgresHistory } from "./history-store.js";
import { historyPartitionHours, partitionSizeMs } from "./history-partitions.js";
import type { TaskSummary } from "../task-summary.js";
import { encodeChange } from "./notifier.js";
import { buildQueries, channelOf, type Queries } from "./queries.js";
import type { DaemonRecords } from "../daemon-records.js";
import { PostgresDaemonRecords } from "./daemon-records.js";
import type { NotificationOutbox } from "../notification-outbox.js";
import { PostgresNotificationOutbox } from "./notification-outbox.js";
import { buildOutboxQueries } from "./outbox-queries.js";
import { buildRecordQueries } from "./record-queries.js";
import { buildMembershipQueries } from "./membership-queries.js";
import { PostgresMembership, measureSkew } from "./membership-store.js";
import { PostgresLifecycle } from "./store-lifecycle.js";

/**
 * The PostgreSQL store: several scheduler processes on one schema form a
 * cluster in which every (task, scheduled time) is claimed exactly once.
 *
 * - Claims are one `INSERT … ON CONFLICT DO NOTHING RETURNING` on a unique
 *   (task_name, scheduled_at) index; lease and claim instants come from the
 *   database clock.
 * - `renewLease` succeeds only while the claim is held by its node and
 *   unexpired; `reapExpiredClaims` takes expired ones over with `FOR UPDATE
 *   SKIP LOCKED`, so two reapers never return the same claim.
 * - Every task write notifies the schema's channel in the same statement;
 *   `watch` listens on a dedicated connection that reconnects with backoff.
 * - Errors are `StoreError`s with the pg error as `cause`; the pool
 *   replaces broken connections, so the next call works once the server is back.
 */
export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly durable = true;
  readonly shared = true;
  /** The schema name (unquoted). */
  readonly schema: string;
  /** The LISTEN/NOTIFY channel of the schema. */
  readonly channel: string;
  /** Default lease length, ms. */
  readonly leaseMs: number;
  readonly #queries: Queries;
  readonly #claimRetentionMs: number;
  readonly #origin = randomUUID();
  /** The pool, the notifier and the statements run through them. */
  readonly #connection: PostgresConnection;
  /** Task rows and change notifications. */
  readonly #tasks: PostgresTasks;
  /** Claims, history rows, releases, settles, finishes and reaping. */
  readonly #runs: PostgresRunWrites;
  /** The `nodes` table and the read before a takeover (migration 10). */
  readonly #membership: PostgresMembership;
  /** Open and close, and what the open was given (clock, node id, node id's lock). */
  readonly #lifecycle: PostgresLifecycle;
  /** The audit log, schedule files and task origins (tables of migration 3). */
  readonly records: DaemonRecords;
  /** The notification outbox (the table of migration 7). */
  readonly notifications: NotificationOutbox;
  /** History partitions and task summaries (migration 11). */
  readonly #history: PostgresHistory;

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError("options", "an object with connectionString or pool", options);
    }
    const schema = options.schema ?? POSTGRES_STORE_DEFAULTS.schema;
    this.#queries = buildQueries(schema);
    const recordQueries = buildRecordQueries(this.#queries.schema);
    this.#membership = new PostgresMembership(buildMembershipQueries(this.#queries.schema), {
      schema,
      query: (key, text, values) => this.#query(key, text, values),
    });
    this.records = new PostgresDaemonRecords((name, values) =>
      this.#query(name, recordQueries[name], values),
    );
    const outboxQueries = buildOutboxQueries(this.#queries.schema);
    this.notifications = new PostgresNotificationOutbox((name, values) =>
      this.#query(name, outboxQueries[name], values),
    );
    this.schema = schema;
    this.channel = channelOf(schema);
    this.#history = new PostgresHistory({
      pool: () => this.#connection.get().pool,
      schema,
      quoted: this.#queries.schema,
      partitionMs: partitionSizeMs(historyPartitionHours(options.historyPartitionHours)),
      claimRetentionMs: () => this.#claimRetentionMs,
      run: (key, values) => this.#run(key, values),
    });
    this.leaseMs = positive("options.leaseMs", options.leaseMs, POSTGRES_STORE_DEFAULTS.leaseMs);
    this.#claimRetentionMs = positive(
      "options.claimRetentionMs",
      options.claimRetentionMs,
      POSTGRES_STORE_DEFAULTS.claimRetentionMs,
    );
    this.#connection = new PostgresConnection(options, {
      schema,
      channel: this.channel,
      origin: this.#origin,
    });
    this.#tasks = new PostgresTasks({
      run: (key, values) => this.#run(key, values),
      change: (kind, taskName) => this.#change(kind, taskName),
    });
    this.#runs = new PostgresRunWrites({
      schema,
      channel: this.channel,
      queries: this.#queries,
      leaseMs: this.leaseMs,
      pool: () => this.#connection.get().pool,
      query: (key, text, values) => this.#query(key, text, values),
      queryEach: (key, text) => this.#connection.queryEach(key, text),
      change: (kind, taskName) => this.#change(kind, taskName)[1],
    });
    this.#lifecycle = new PostgresLifecycle({
      schema,
      quoted: this.#queries.schema,
      connection: this.#connection,
      history: this.#history,
    });
  }

  /** Migration versions this instance applied on open (empty when another node had). */
  get migrationsApplied(): readonly number[] {
    return this.#lifecycle.migrationsApplied;
  }

  /** The pool the store queries through (created on first use when the store owns it). */
  get pool(): Pool {
    return this.#connection.get().pool;
  }

  /** How many times the LISTEN subscription was made (1 + reconnections); 0 before the first `watch`. */
  get subscriptions(): number {
    return this.#connection.subscriptions;
  }

  /** True while the `watch` subscription's connection is up. */
  get listening(): boolean {
    return this.#connection.listening;
  }

  /** Resolves once the `watch` subscription is active (LISTEN done). */
  whenListening(): Promise<void> {
    return this.#connection.get().notifier.ready();
  }

  /** Migrates, creates history partitions ahead, takes the node id's lock if asked. Idempotent. */
  open(context: StoreOpenContext): Promise<void> {
    return this.#lifecycle.open(context);
  }

  /** Lets go of the node id's lock and closes the pool (after an open under way). */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.#run<{ version: number }>("schemaVersion", []);
    return rows[0]?.version ?? 0;
  }

  /** The newest schema version this code knows. */
  get latestSchemaVersion(): number {
    return LATEST_VERSION;
  }

  async now(): Promise<number> {
    const rows = await this.#run<{ now_ms: string }>("nowMs", []);
    return Math.floor(Number(rows[0]?.now_ms));
  }

  /**
   * Compares the database clock with this node's clock (the scheduler's). The
   * best of `samples` round trips is used; the scheduler warns above its threshold.
   */
  measureClockSkew(samples = 3): Promise<ClockSkew> {
    return measureSkew(this.#lifecycle.clock, () => this.now(), samples);
  }

  putTask(record: TaskRecord, options: { readonly replace: boolean }): Promise<void> {
    return this.#tasks.put(record, options);
  }

  getTask(name: string): Promise<TaskRecord | undefined> {
    return this.#tasks.get(name);
  }

  listTasks(): Promise<TaskRecord[]> {
    return this.#tasks.list();
  }

  updateTaskProgress(
    name: string,
    progress: TaskProgress,
    options?: { readonly afterRun?: boolean },
  ): Promise<boolean> {
    return this.#tasks.updateProgress(name, progress, options);
  }

  updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean> {
    return this.#tasks.updateCallback(name, callback);
  }

  deleteTask(name: string): Promise<boolean> {
    return this.#tasks.delete(name);
  }

  /**
   * Tells every other node watching this schema about a change that is not a
   * task write (a manual trigger), or asks them to reload a task.
   */
  notify(change: StoreChange): Promise<void> {
    return this.#tasks.notify(change);
  }

  /**
   * Claims one due run (concurrent calls share one statement: see {@link Batcher}).
   * The winner's lease runs from the database's clock.
   */
  claimRun<R extends PostgresClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    return this.#runs.claimRun(request);
  }

  /**
   * Claims many due runs, answering in the order asked: one statement for up
   * to 500 requests (more are split), with the same rules as {@link claimRun}.
   */
  claimRuns<R extends PostgresClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return this.#runs.claimRuns(requests);
  }

  /** Renews while this node holds the claim unexpired (`leaseMs` ≤ 0: the store's default). */
  renewLease(claim: Claim, leaseMs: number): Promise<boolean> {
    return this.#runs.renewLease(claim, leaseMs);
  }

  recordProcess(claim: ClaimRef, process: ClaimProcess): Promise<boolean> {
    return this.#runs.recordProcess(claim, process);
  }

  /**
   * Gives back a claim taken ahead whose run never started: the key is not
   * spent, so the run can be claimed again, by any node (batched).
   */
  giveBack(claim: Claim): Promise<void> {
    return this.#runs.giveBack(claim);
  }

  /** Releases a claim (batched with concurrent releases). */
  releaseClaim(claim: Claim): Promise<void> {
    return this.#runs.releaseClaim(claim);
  }

  /** Takes over the claims of dead processes, in batches (see Store.reapExpiredClaims). */
  reapExpiredClaims(options: {
    readonly nodeId: string;
    readonly atStart: boolean;
    readonly leaseMs?: number;
  }): Promise<ReapedClaim[]> {
    return this.#runs.reapExpiredClaims(options);
  }

  /**
   * Records the attempt, fenced by its claim (written only while this node
   * still holds it), and releases the claim unless `release` is false: one
   * statement, batched with concurrent writes (see `writeRuns`).
   */
  finishRun(
    record: RunRecord,
    claim: Claim,
    options?: { readonly release?: boolean },
  ): Promise<boolean> {
    return this.#runs.finishRun(record, claim, options?.release !== false);
  }

  /**
   * Finishes many attempts and writes their tasks' progress: one statement,
   * one commit (see finish-queries.ts). Resolves, per finish, whether its row was written.
   */
  finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    return this.#runs.finishRuns(finishes);
  }

  /** Appends a history row as it is (batched with concurrent appends, in call order). */
  recordRun(record: RunRecord): Promise<void> {
    return this.#runs.recordRun(record);
  }

  heartbeatNode(beat: NodeBeat): Promise<string[]> {
    return this.#membership.heartbeat(beat, this.#lifecycle.locked);
  }

  leaveNode(nodeId: string): Promise<void> {
    return this.#membership.leave(nodeId);
  }

  takenRuns(keys: readonly RunKey[]): Promise<boolean[]> {
    return this.#membership.takenRuns(keys);
  }

  /** Records skipped and missed runs once per occurrence across the cluster (see `settleSlots`). */
  settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
    return this.#runs.settleSlots(records);
  }

  history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    return this.#history.read(query);
  }

  /** Applies history retention (DB clock), and forgets claims released longer ago than `claimRetentionMs`. */
  pruneHistory(retention: HistoryRetention): Promise<number> {
    return this.#history.prune(retention);
  }

  /** Creates the history partitions of the day ahead that are missing. */
  async maintainHistory(): Promise<void> {
    await this.#history.createAhead();
  }

  /** The summaries of the named tasks' runs (table `task_summaries`, kept by a trigger on `runs`). */
  taskSummaries(names: readonly string[]): Promise<Map<string, TaskSummary>> {
    return this.#history.summaries(names);
  }

  watch(listener: (change: StoreChange) => void, options?: WatchOptions): () => void {
    return this.#connection.get().notifier.add(listener, options?.onListening);
  }

  /** The node id given to `open` (empty before). */
  get nodeId(): string {
    return this.#lifecycle.nodeId;
  }

  #change(kind: StoreChange["kind"], taskName: string): [string, string] {
    return [this.channel, encodeChange({ kind, taskName }, this.#origin)];
  }

  #run<R extends QueryResultRow = QueryResultRow>(
    key: Exclude<keyof Queries, "schema">,
    values: unknown[],
  ): Promise<R[]> {
    return this.#query<R>(key, this.#queries[key], values);
  }

  /** Runs a named prepared statement; errors become StoreErrors naming `key`. */
  #query<R extends QueryResultRow = QueryResultRow>(
    key: string,
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    return this.#connection.query<R>(key, text, values);
  }
}
