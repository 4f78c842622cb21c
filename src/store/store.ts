import type { TaskSummary } from "./task-summary.js";
import type { Clock } from "../time/clock.js";
import type { DaemonRecords } from "./daemon-records.js";
import type { NotificationOutbox } from "./notification-outbox.js";

export * from "./task-records.js";
export * from "./claims.js";
export * from "./run-records.js";
import type { StoredCallback, TaskProgress, TaskRecord } from "./task-records.js";
import type {
  Claim,
  ClaimAnswer,
  ClaimProcess,
  ClaimRef,
  ClaimRequest,
  ReapedClaim,
} from "./claims.js";
import type { FinishRequest, HistoryQuery, HistoryRetention, RunRecord } from "./run-records.js";

/** A change a shared store reports (LISTEN/NOTIFY in PostgreSQL) so every node reloads that task. */
export interface StoreChange {
  readonly kind: "upsert" | "delete" | "trigger";
  readonly taskName: string;
}

/** Options of {@link Store.watch}. */
export interface WatchOptions {
  /** Called (must not throw) each time the subscription is made; `resubscribed` after a lost connection. */
  readonly onListening?: (resubscribed: boolean) => void;
}

/** Given to {@link Store.open}. */
export interface StoreOpenContext {
  readonly nodeId: string;
  /** The scheduler's clock; stores without a clock of their own (memory) use it. */
  readonly clock: Clock;
  /**
   * Take `nodeId` for this process for as long as the store is open: refuse
   * with NodeIdInUseError while another live process (or scheduler) holds it.
   * The hold dies with the process (a session advisory lock on PostgreSQL, a
   * file lock beside a SQLite file), so that a node id's claims found at
   * start are surely a dead predecessor's. A store keeps its first answer.
   * @defaultValue false
   */
  readonly exclusiveNode?: boolean;
  /** Told (must not throw) when the hold was lost and another process took the node id meanwhile. */
  readonly onNodeTaken?: () => void;
}

/** What a node tells the store's membership at each heartbeat ({@link Store.heartbeatNode}). */
export interface NodeBeat {
  readonly nodeId: string;
  /** The node is live while its last heartbeat is younger than this (by the store's clock). */
  readonly leaseMs: number;
  /** The first beat of this process: (re)starts the node's entry (`started_at`, a new generation). */
  readonly first?: boolean;
}

/** A run's key: one (task, scheduled instant). */
export interface RunKey {
  readonly taskName: string;
  readonly scheduledAt: number;
}

/**
 * Where tasks, claims and run history live. Every method is async so that
 * memory, SQLite and PostgreSQL implementations share one contract (one
 * conformance suite). Stores hold callback records as opaque data and never
 * run callbacks; errors are {@link StoreError}, {@link DuplicateTaskError} or
 * {@link TaskNotFoundError}, raised the same way by every store.
 */
export interface Store {
  /** `memory`, `sqlite`, `postgres`, … (for logs). */
  readonly kind: string;
  /** True when tasks survive the process (then closures cannot be stored, only handler or module references). */
  readonly durable: boolean;
  /** True when several processes may share the store (then claims carry leases that must be renewed). */
  readonly shared: boolean;

  /** Opens connections, runs migrations. Idempotent. */
  open(context: StoreOpenContext): Promise<void>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
  /** The schema version of the store's data (0 for the memory store). */
  schemaVersion(): Promise<number>;
  /** The store's clock in epoch ms (the DB clock for shared stores). */
  now(): Promise<number>;
  /**
   * Stores with a clock of their own (PostgreSQL's database clock): the
   * store's clock minus the scheduler's (`skewMs`, positive when the node is
   * behind), measured over `samples` round trips (the shortest is kept).
   * Absent when the store reads the scheduler's clock.
   */
  measureClockSkew?(samples?: number): Promise<{ skewMs: number; roundTripMs: number }>;

  /**
   * Inserts a task; throws DuplicateTaskError unless `replace`, which
   * overwrites it. Claims and claim marks of the name are left as they are (a
   * replaced task whose occurrence was already claimed does not run it again).
   * The store keeps its own copy: the caller may change `record` afterwards.
   */
  putTask(record: TaskRecord, options: { readonly replace: boolean }): Promise<void>;
  /**
   * Optional synchronous `putTask` for stores that need no I/O and no opening
   * (memory): the scheduler then registers without a promise chain per task,
   * possibly before `open()`. Throws what `putTask` would reject with. A store
   * that must be opened first should not offer it.
   */
  putTaskSync?(record: TaskRecord, options: { readonly replace: boolean }): void;
  getTask(name: string): Promise<TaskRecord | undefined>;
  listTasks(): Promise<TaskRecord[]>;
  /**
   * Updates the run-state columns; returns false when the task no longer
   * exists. With `afterRun` (the write that follows a run), a shared store
   * keeps a task that another process paused meanwhile paused (with no next
   * run) rather than writing back the `active` state the runner still had, so
   * that a pause is never undone by a run finishing elsewhere.
   */
  updateTaskProgress(
    name: string,
    progress: TaskProgress,
    options?: { readonly afterRun?: boolean },
  ): Promise<boolean>;
  /** Replaces the stored callback (key rotation, test-mode migration); false when the task no longer exists. */
  updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean>;
  /** Deletes a task (its history stays); returns whether it existed. */
  deleteTask(name: string): Promise<boolean>;
  /** Synchronous `deleteTask`, offered together with {@link putTaskSync} (same rules). */
  deleteTaskSync?(name: string): boolean;

  /**
   * Claims one due run. Exactly one caller ever gets a given (taskName,
   * scheduledAt); the others get null, as does a claim for an occurrence at or
   * before one already finished and forgotten by retention.
   */
  claimRun<R extends ClaimRequest>(request: R): Promise<ClaimAnswer<R>>;
  /**
   * Claims many due runs at once (one transaction or statement where the
   * store can), answering in the order asked; same rules as {@link claimRun}.
   * Optional: the scheduler falls back to one `claimRun` per request.
   */
  claimRuns?<R extends ClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]>;
  /**
   * False when only one scheduler uses this store, so that the scheduler's
   * own phase 1 already gives each due run out exactly once and claims can be
   * skipped (the MemoryStore with a single user). Absent means true.
   */
  claimsRequired?(): boolean;
  /** Extends a claim's lease; false when it was lost (expired and taken, or released). */
  renewLease(claim: Claim, leaseMs: number): Promise<boolean>;
  /**
   * Gives back a claim whose run never started (claimed ahead of its due time,
   * then not needed): unlike {@link releaseClaim} its key is not spent, so the
   * run may still be claimed later, by anyone. Optional: without it the
   * scheduler does not claim ahead of time.
   */
  giveBack?(claim: Claim): Promise<void>;
  /**
   * Records on a claim still held by its node the process its attempt
   * started (replacing one recorded before: a retry under the same claim),
   * so that {@link reapExpiredClaims} returns it with the claim. Resolves
   * false when no such claim is held (released, reaped or never granted).
   * Optional: without it nothing outlives a dead process's attempt knowingly.
   */
  recordProcess?(claim: ClaimRef, process: ClaimProcess): Promise<boolean>;
  /** Finishes a claim: no one renews it any more. Its key stays unique. */
  releaseClaim(claim: Claim): Promise<void>;
  /**
   * Takes over and returns the claims that were held by a process that died,
   * so that the caller records their runs `interrupted` and applies the retry
   * policy: the expired claims of any node, and when `atStart` every
   * unreleased claim of `nodeId` (a crashed previous run of the same node).
   * Each comes back as its dead holder had it (its node, its start, its
   * process), with {@link ReapedClaim.takenOver}: the same key, now held by
   * `nodeId` under a new id, a new fencing token and a lease of `leaseMs`
   * (the store's default lease when absent). Nothing is released and no row
   * is written here: the caller writes the `interrupted` row with
   * `finishRun` under the claim taken over, which releases it (or keeps it
   * for the retry), so that the release and the row go together. A reaper
   * that dies or cannot write before then leaves the claim to expire, and
   * the run is reaped again. A non-durable store returns none.
   */
  reapExpiredClaims(options: {
    readonly nodeId: string;
    readonly atStart: boolean;
    readonly leaseMs?: number;
  }): Promise<ReapedClaim[]>;

  /**
   * Membership (stores shared by several processes): writes this node's
   * heartbeat by the store's clock (registering it on the first beat) and
   * resolves with the ids of the live nodes, this one included, sorted. A
   * node is live while its last heartbeat is younger than its own
   * `leaseMs`, and, where the store can tell, while the process holding its
   * node id is alive (PostgreSQL: its session advisory lock is held, so a
   * killed node is seen dead at the next beat of the others). Optional:
   * without it every node claims every due run (claims stay unique).
   */
  heartbeatNode?(beat: NodeBeat): Promise<string[]>;
  /** Removes this node from the membership (it stops): the others take its share at their next beat. */
  leaveNode?(nodeId: string): Promise<void>;
  /**
   * Per key, whether its run was claimed already by anyone (held, released,
   * settled, or at or before its task's release mark and recorded): a read,
   * no claim made.
   * Used before taking over a run another node owns, so that taking over
   * costs no conflicting claims. Optional.
   */
  takenRuns?(keys: readonly RunKey[]): Promise<boolean[]>;

  /**
   * Appends one history row as it is, fenced by nothing: the rows of runs that
   * no claim stands for (a late result of a node that lost its lease, `lost`).
   */
  recordRun(record: RunRecord): Promise<void>;
  /**
   * Appends the history row of an attempt made under `claim`, only while the
   * claim is still held by its node (fenced: a claim reaped, released or given
   * back writes nothing), and, unless `release` is false (an attempt with a
   * retry to come), releases the claim in the same transaction, so that a
   * crash between the two can never make a finished run look interrupted.
   * Resolves true when the row was written, false when the claim was no
   * longer held (the run is another node's to record).
   */
  finishRun(
    record: RunRecord,
    claim: Claim,
    options?: { readonly release?: boolean },
  ): Promise<boolean>;
  /**
   * Many {@link finishRun}s and the progress writes that follow them, in one
   * transaction (one statement where the store can): each row is written only
   * while its claim is held, exactly as `finishRun` would; a finish whose row
   * is written also writes its `progress` (see {@link FinishRequest}).
   * Resolves, per finish in order, whether its row was written. All or
   * nothing: when it rejects, nothing of the batch was written (unless the
   * commit's answer was what got lost). Optional: the scheduler then calls
   * `finishRun` and `updateTaskProgress` per run.
   */
  finishRuns?(finishes: readonly FinishRequest[]): Promise<boolean[]>;
  /**
   * Records runs that did not start and hold no claim (status `skipped` or
   * `missed`), each only if no one has claimed its occurrence (for a `missed`
   * row that covers `scheduledAt` to `missedThrough`, any of them): the
   * occurrence is claimed in the same step (and released at once), so that no
   * node runs or records it after. Resolves, per record, whether it was
   * written. Skips and misses are thereby recorded once per occurrence
   * across every node sharing the store.
   */
  settleSlots(records: readonly RunRecord[]): Promise<boolean[]>;
  /** Run history, newest first. */
  history(query?: HistoryQuery): Promise<RunRecord[]>;
  /**
   * Applies retention; returns how many rows were deleted. Stores delete in
   * bounded batches where a long delete would hold others up (SQLite's one writer).
   */
  pruneHistory(retention: HistoryRetention): Promise<number>;
  /**
   * The summaries of the named tasks' runs (last outcome, counts by status,
   * recent durations), read without scanning the history; a task with no
   * row is absent from the map. Optional: readers fall back to `history`.
   */
  taskSummaries?(names: readonly string[]): Promise<Map<string, TaskSummary>>;
  /**
   * Housekeeping of the history's layout, called by the scheduler's
   * maintenance every minute whether or not retention is set (PostgreSQL:
   * creates the time partitions ahead). Optional.
   */
  maintainHistory?(): Promise<void>;
  /**
   * The newest schema version this code knows, for stores whose schema a
   * newer binary may migrate while this process runs (PostgreSQL): the
   * scheduler stops claiming when {@link schemaVersion} goes past it.
   */
  readonly latestSchemaVersion?: number;

  /**
   * Subscribes to changes made by other nodes (shared stores only). Returns
   * the unsubscribe function. `options.onListening` is told each time the
   * subscription is made (`resubscribed` true after a lost connection: changes
   * made meanwhile were not delivered, so reload every task then).
   */
  watch?(listener: (change: StoreChange) => void, options?: WatchOptions): () => void;

  /**
   * The audit log, the schedule file each daemon applied and the origin of
   * each task it added (see {@link DaemonRecords}): kept by every built-in
   * store, used by the CLI daemon and the dashboard. Usable once the store is open.
   */
  readonly records?: DaemonRecords;

  /**
   * The notification outbox of the CLI daemon (see {@link NotificationOutbox}):
   * kept by every built-in store. Usable once the store is open.
   */
  readonly notifications?: NotificationOutbox;
}
