import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import type { Pool, PoolConfig, QueryResultRow } from "pg";
import { DuplicateTaskError, InvalidArgumentError, StoreError } from "../../errors.js";
import { SystemClock, type Clock } from "../../time/clock.js";
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
import { retentionBound } from "../store.js";
import { Batcher } from "./batcher.js";
import { claimCounted } from "./counted-claim.js";
import { finishRuns, finishRunsParams } from "./finish-queries.js";
import {
  POSTGRES_STORE_DEFAULTS,
  positive,
  type ClockSkew,
  type PostgresClaimRequest,
  type PostgresStoreOptions,
} from "./postgres-options.js";
import { LATEST_VERSION, migrate } from "./migrations.js";
import { PostgresHistory } from "./history-store.js";
import { historyPartitionHours, partitionSizeMs } from "./history-partitions.js";
import type { TaskSummary } from "../task-summary.js";
import { PostgresNodeLock } from "./node-lock.js";
import { Notifier, encodeChange, type NotifierStatus } from "./notifier.js";
import { buildQueries, channelOf, type Queries } from "./queries.js";
import type { DaemonRecords } from "../daemon-records.js";
import { PostgresDaemonRecords } from "./daemon-records.js";
import type { NotificationOutbox } from "../notification-outbox.js";
import { PostgresNotificationOutbox } from "./notification-outbox.js";
import { buildOutboxQueries } from "./outbox-queries.js";
import { buildRecordQueries } from "./record-queries.js";
import { buildMembershipQueries, type MembershipQueries } from "./membership-queries.js";
import {
  callbackParams,
  claimOf,
  reapedOf,
  runOf,
  settleSlotsParams,
  writeRunsParams,
  type RunWrite,
  taskOf,
  taskParams,
  toDate,
  type ClaimRow,
  type ReapedRow,
  type RunRow,
  type TaskRow,
} from "./rows.js";
import { checkOut } from "./check-out.js";

const REAP_BATCH = 500;

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
 * - Errors are {@link StoreError} with the pg error as `cause`; the pool
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
  /** Migration versions this instance applied on open (empty when another node had). */
  migrationsApplied: readonly number[] = [];
  readonly #queries: Queries;
  /** The batched finish (finish-queries.ts), rendered for this schema. */
  readonly #finishRuns: string;
  readonly #givenPool: Pool | undefined;
  readonly #poolConfig: PoolConfig | undefined;
  readonly #claimRetentionMs: number;
  readonly #onError: PostgresStoreOptions["onError"];
  readonly #onListening: PostgresStoreOptions["onListening"];
  readonly #origin = randomUUID();
  readonly #statementPrefix: string;
  #pool: Pool | undefined;
  readonly #claims = new Batcher<PostgresClaimRequest & { readonly id: string }, Claim | null>(
    (requests) => this.#claimBatch(requests),
  );
  /**
   * History rows and releases, combined: finishing a run costs a share of one
   * commit. Each item answers whether it was written (a fenced row whose
   * claim was no longer held was not; everything else was).
   */
  readonly #writes = new Batcher<RunWrite | Claim, boolean>(async (items) => {
    const writes: RunWrite[] = [];
    const releases: Claim[] = [];
    const fenced = new Map<number, number>();
    items.forEach((item, index) => {
      if ("record" in item) {
        if (item.fence !== null) fenced.set(writes.length + 1, index);
        writes.push(item);
      } else {
        releases.push(item);
      }
    });
    const rows = await this.#run<{ ord: number }>("writeRuns", [
      ...writeRunsParams(writes),
      releases.map((c) => c.id),
      releases.map((c) => c.nodeId),
    ]);
    const answers = items.map(() => true);
    for (const index of fenced.values()) answers[index] = false;
    for (const { ord } of rows) {
      const index = fenced.get(ord);
      if (index !== undefined) answers[index] = true;
    }
    return answers;
  });
  /** Skipped and missed runs, combined like writes. */
  readonly #settles = new Batcher<RunRecord, boolean>(async (records) => {
    const rows = await this.#run<{ ord: number }>("settleSlots", settleSlotsParams(records));
    const written = new Set(rows.map((row) => row.ord));
    return records.map((_, index) => written.has(index + 1));
  });
  /** The `nodes` table and the read before a takeover (migration 10). */
  readonly #membership: MembershipQueries;
  #notifier: Notifier | undefined;
  #closed = false;
  #clock: Clock = new SystemClock();
  #nodeId = "";
  /** Held while open when the scheduler asked for its node id to itself. */
  #nodeLock: PostgresNodeLock | undefined;
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
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
    this.#finishRuns = finishRuns(this.#queries.schema);
    const recordQueries = buildRecordQueries(this.#queries.schema);
    this.#membership = buildMembershipQueries(this.#queries.schema);
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
      pool: () => this.#connection().pool,
      schema,
      quoted: this.#queries.schema,
      partitionMs: partitionSizeMs(historyPartitionHours(options.historyPartitionHours)),
    });
    this.leaseMs = positive("options.leaseMs", options.leaseMs, POSTGRES_STORE_DEFAULTS.leaseMs);
    this.#claimRetentionMs = positive(
      "options.claimRetentionMs",
      options.claimRetentionMs,
      POSTGRES_STORE_DEFAULTS.claimRetentionMs,
    );
    this.#onError = options.onError;
    this.#onListening = options.onListening;
    if (options.pool !== undefined) {
      this.#givenPool = options.pool;
    } else if (typeof options.connectionString === "string" && options.connectionString !== "") {
      this.#poolConfig = {
        connectionString: options.connectionString,
        max: positive(
          "options.maxConnections",
          options.maxConnections,
          POSTGRES_STORE_DEFAULTS.maxConnections,
        ),
        application_name: "orchestrator",
        keepAlive: true,
      };
    } else {
      throw new InvalidArgumentError(
        "options.connectionString",
        "a PostgreSQL connection string (or give options.pool)",
        options.connectionString,
      );
    }
    // Statement names are per connection and at most 63 bytes: a digest of the schema keeps them short and distinct.
    this.#statementPrefix = `orch_${createHash("sha256").update(schema).digest("hex").slice(0, 12)}_`;
  }

  /** The pool the store queries through (created on first use when the store owns it). */
  get pool(): Pool {
    return this.#connection().pool;
  }

  /** How many times the LISTEN subscription was made (1 + reconnections); 0 before the first `watch`. */
  get subscriptions(): number {
    return this.#notifier?.subscriptions ?? 0;
  }

  /** True while the `watch` subscription's connection is up. */
  get listening(): boolean {
    return this.#notifier?.listening ?? false;
  }

  /** Resolves once the `watch` subscription is active (LISTEN done). */
  whenListening(): Promise<void> {
    return this.#connection().notifier.ready();
  }

  /** The pool and notifier, made on first use (and again after a close and reopen). */
  #connection(): { pool: Pool; notifier: Notifier } {
    if (this.#closed) throw new StoreError(`PostgreSQL store (schema ${this.schema}) is closed`);
    if (this.#pool === undefined || this.#notifier === undefined) {
      const pool = this.#givenPool ?? new pg.Pool(this.#poolConfig);
      // An idle connection that dies (server restart, pg_terminate_backend) must not crash the
      // process; the pool drops it and opens a new one on the next query.
      pool.on("error", this.#onPoolError);
      this.#pool = pool;
      const notifier = new Notifier({
        pool,
        channel: this.channel,
        origin: this.#origin,
        onStatus: (status: NotifierStatus, error?: unknown) => {
          if (status === "lost") this.#report(error, "notifier");
          else this.#listening(notifier.subscriptions > 1);
        },
      });
      this.#notifier = notifier;
    }
    return { pool: this.#pool, notifier: this.#notifier };
  }

  open(context: StoreOpenContext): Promise<void> {
    this.#closed = false;
    this.#opening ??= this.#open(context).catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
    return this.#opening;
  }

  async #open(context: StoreOpenContext): Promise<void> {
    this.#clock = context.clock;
    this.#nodeId = context.nodeId;
    let client;
    try {
      client = await checkOut(this.#connection().pool);
    } catch (error) {
      throw new StoreError(`PostgreSQL store: could not connect to open schema ${this.schema}`, {
        cause: error,
      });
    }
    try {
      const result = await migrate(client, this.schema, this.#queries.schema, context.nodeId);
      this.migrationsApplied = result.applied;
      client.release();
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw new StoreError(`PostgreSQL store: could not migrate schema ${this.schema}`, {
        cause: error,
      });
    }
    await this.#history.createAhead();
    if (context.exclusiveNode === true && this.#nodeLock === undefined) {
      const lock = new PostgresNodeLock({
        pool: this.#connection().pool,
        schema: this.schema,
        nodeId: context.nodeId,
        onTaken: () => context.onNodeTaken?.(),
      });
      await lock.acquire();
      this.#nodeLock = lock;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => undefined);
    this.#opening = undefined;
    this.#closed = true;
    const pool = this.#pool;
    this.#nodeLock?.release();
    this.#nodeLock = undefined;
    this.#notifier?.close();
    this.#notifier = undefined;
    this.#pool = undefined;
    if (pool === undefined) return;
    pool.off("error", this.#onPoolError);
    if (pool !== this.#givenPool) await pool.end();
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
  async measureClockSkew(samples = 3): Promise<ClockSkew> {
    let best: ClockSkew | undefined;
    for (let i = 0; i < Math.max(1, samples); i++) {
      const start = this.#clock.monotonicMs();
      const wallStart = this.#clock.nowMs();
      const dbMs = await this.now();
      const roundTripMs = this.#clock.monotonicMs() - start;
      const skewMs = dbMs - (wallStart + roundTripMs / 2);
      if (best === undefined || roundTripMs < best.roundTripMs) best = { skewMs, roundTripMs };
    }
    return best as ClockSkew;
  }

  async putTask(record: TaskRecord, options: { readonly replace: boolean }): Promise<void> {
    const rows = await this.#run<{ n: number }>(options.replace ? "upsertTask" : "insertTask", [
      ...this.#change("upsert", record.name),
      ...taskParams(record),
    ]);
    if ((rows[0]?.n ?? 0) === 0) throw new DuplicateTaskError(record.name);
  }

  async getTask(name: string): Promise<TaskRecord | undefined> {
    const rows = await this.#run<TaskRow>("getTask", [name]);
    const row = rows[0];
    return row === undefined ? undefined : taskOf(row);
  }

  async listTasks(): Promise<TaskRecord[]> {
    return (await this.#run<TaskRow>("listTasks", [])).map(taskOf);
  }

  async updateTaskProgress(
    name: string,
    progress: TaskProgress,
    options?: { readonly afterRun?: boolean },
  ): Promise<boolean> {
    const rows = await this.#run<{ n: number }>("updateTaskProgress", [
      ...this.#change("upsert", name),
      name,
      progress.state,
      toDate(progress.nextRunAt),
      toDate(progress.lastRunAt),
      progress.lastStatus,
      progress.runCount,
      options?.afterRun === true,
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  async updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean> {
    const rows = await this.#run<{ n: number }>("updateTaskCallback", [
      ...this.#change("upsert", name),
      name,
      ...callbackParams(callback),
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  async deleteTask(name: string): Promise<boolean> {
    const rows = await this.#run<{ n: number }>("deleteTask", [
      ...this.#change("delete", name),
      name,
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  /**
   * Tells every other node watching this schema about a change that is not a
   * task write (a manual trigger), or asks them to reload a task.
   */
  async notify(change: StoreChange): Promise<void> {
    await this.#run("notify", this.#change(change.kind, change.taskName));
  }

  /**
   * Claims one due run (concurrent calls share one statement: see {@link Batcher}).
   * The winner's lease runs from the database's clock.
   */
  claimRun<R extends PostgresClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    const { maxRuns } = request;
    const asked = { ...request, id: randomUUID() };
    if (maxRuns === undefined) return this.#claims.add(asked);
    const params = this.#claimParams([asked]);
    const claim = claimCounted(
      this.#connection().pool,
      this.#queries,
      {
        taskName: request.taskName,
        maxRuns,
        params,
      },
      this.schema,
    );
    return claim as Promise<ClaimAnswer<R>>;
  }

  /**
   * Claims many due runs, answering in the order asked: one statement for up
   * to 500 requests (more are split), with the same rules as {@link claimRun}.
   */
  claimRuns<R extends PostgresClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return Promise.all(requests.map((request) => this.claimRun(request)));
  }

  async #claimBatch(
    requests: readonly (PostgresClaimRequest & { readonly id: string })[],
  ): Promise<(Claim | null)[]> {
    const rows = await this.#run<ClaimRow>("claimRuns", this.#claimParams(requests));
    const won = new Map(rows.map((row) => [row.id, claimOf(row)]));
    return requests.map((r) => won.get(r.id) ?? null);
  }

  /** The parallel arrays of the claimRuns statement. */
  #claimParams(requests: readonly (PostgresClaimRequest & { readonly id: string })[]): unknown[] {
    return [
      requests.map((r) => r.id),
      requests.map((r) => r.taskName),
      requests.map((r) => new Date(r.scheduledAt)),
      requests.map((r) => r.manual === true),
      requests.map((r) => r.nodeId),
      requests.map((r) => (r.leaseMs > 0 ? r.leaseMs : this.leaseMs)),
      requests.map((r) => r.exclusive === true),
    ];
  }

  async renewLease(claim: Claim, leaseMs: number): Promise<boolean> {
    const rows = await this.#run("renewLease", [
      claim.id,
      claim.nodeId,
      leaseMs > 0 ? leaseMs : this.leaseMs,
    ]);
    return rows.length === 1;
  }

  async recordProcess(claim: ClaimRef, process: ClaimProcess): Promise<boolean> {
    const rows = await this.#run("recordClaimProcess", [
      claim.taskName,
      claim.fencingToken,
      claim.nodeId,
      process.pgid,
      process.startTime,
    ]);
    return rows.length === 1;
  }

  /** Releases a claim (batched with concurrent releases). */
  async releaseClaim(claim: Claim): Promise<void> {
    await this.#writes.add(claim);
  }

  /** Takes over the claims of dead processes, in batches (see Store.reapExpiredClaims). */
  async reapExpiredClaims(options: {
    readonly nodeId: string;
    readonly atStart: boolean;
    readonly leaseMs?: number;
  }): Promise<ReapedClaim[]> {
    const claims: ReapedClaim[] = [];
    const leaseMs =
      options.leaseMs !== undefined && options.leaseMs > 0 ? options.leaseMs : this.leaseMs;
    for (;;) {
      const rows = await this.#run<ReapedRow>("reapExpiredClaims", [
        options.nodeId,
        options.atStart,
        REAP_BATCH,
        leaseMs,
      ]);
      for (const row of rows) claims.push(reapedOf(row));
      if (rows.length < REAP_BATCH) return claims;
    }
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
    return this.#writes.add({ record, fence: claim, release: options?.release !== false });
  }

  /**
   * Finishes many attempts and writes their tasks' progress: one statement,
   * one commit (see finish-queries.ts). Resolves, per finish, whether its row was written.
   */
  async finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    if (finishes.length === 0) return [];
    const change = (taskName: string): string => this.#change("upsert", taskName)[1];
    const rows = await this.#query<{ ord: number }>(
      "finishRuns",
      this.#finishRuns,
      finishRunsParams(finishes, this.channel, change),
    );
    const written = new Set(rows.map((row) => row.ord));
    return finishes.map((_, index) => written.has(index + 1));
  }

  /** Appends a history row as it is (batched with concurrent appends, in call order). */
  async recordRun(record: RunRecord): Promise<void> {
    await this.#writes.add({ record, fence: null, release: false });
  }

  /** Records skipped and missed runs once per occurrence across the cluster (see `settleSlots`). */
  async heartbeatNode(beat: NodeBeat): Promise<string[]> {
    const rows = await this.#query<{ node_id: string }>("beatNode", this.#membership.beatNode, [
      beat.nodeId,
      Math.max(1, Math.min(2 ** 31 - 1, Math.round(beat.leaseMs))),
      this.#nodeLock !== undefined,
      beat.first === true,
      this.schema,
    ]);
    return rows.map((row) => row.node_id).sort();
  }

  async leaveNode(nodeId: string): Promise<void> {
    await this.#query("leaveNode", this.#membership.leaveNode, [nodeId]);
  }

  async takenRuns(keys: readonly RunKey[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const rows = await this.#query<{ ord: number }>("takenRuns", this.#membership.takenRuns, [
      keys.map((key) => key.taskName),
      keys.map((key) => new Date(key.scheduledAt)),
    ]);
    const taken = keys.map(() => false);
    for (const { ord } of rows) taken[ord - 1] = true;
    return taken;
  }

  settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
    return Promise.all(records.map((record) => this.#settles.add(record)));
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const params = [query.limit ?? 100, query.offset ?? 0, query.statuses ?? null];
    const rows =
      query.taskName === undefined
        ? await this.#run<RunRow>("history", params)
        : await this.#run<RunRow>("taskHistory", [...params, query.taskName]);
    return rows.map(runOf);
  }

  /** Applies history retention (DB clock), and forgets claims released longer ago than `claimRetentionMs`. */
  async pruneHistory(retention: HistoryRetention): Promise<number> {
    const keepLast = [...(retention.keepLast ?? [])].flatMap(([name, limit]) => {
      const keep = retentionBound(limit);
      return keep === null ? [] : [[name, keep] as const];
    });
    const dropped =
      retentionBound(retention.maxAgeMs) === null
        ? 0
        : await this.#history.dropExpired(retention.maxAgeMs);
    const rows = await this.#run<{ n: number }>("pruneHistory", [
      retentionBound(retention.maxAgeMs),
      retentionBound(retention.maxRows),
      keepLast.map(([name]) => name),
      keepLast.map(([, keep]) => keep),
    ]);
    await this.#run("pruneClaims", [this.#claimRetentionMs]);
    return dropped + (rows[0]?.n ?? 0);
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
    return this.#connection().notifier.add(listener, options?.onListening);
  }

  /** The node id given to `open` (empty before). */
  get nodeId(): string {
    return this.#nodeId;
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
  async #query<R extends QueryResultRow = QueryResultRow>(
    key: string,
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    try {
      const result = await this.#connection().pool.query<R>({
        name: this.#statementPrefix + key,
        text,
        values,
      });
      return result.rows;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreError(`PostgreSQL store (schema ${this.schema}): ${key} failed: ${reason}`, {
        cause: error,
      });
    }
  }

  readonly #onPoolError = (error: Error): void => {
    this.#report(error, "pool");
  };

  #listening(resubscribed: boolean): void {
    try {
      this.#onListening?.(resubscribed);
    } catch {
      // Contained, as for onError.
    }
  }

  #report(error: unknown, context: "notifier" | "pool"): void {
    try {
      this.#onError?.(error, context);
    } catch {
      // Contained: a throwing observer must not break the store.
    }
  }
}
