import type { ScheduleSpec } from "../core/schedule.js";
import type { RunStatus, TaskState } from "../core/task.js";
import type { TaskSummary } from "./task-summary.js";
import type { Clock } from "../time/clock.js";
import type { DaemonRecords } from "./daemon-records.js";
import type { NotificationOutbox } from "./notification-outbox.js";

/**
 * How a stored task refers to its callback. Functions cannot be stored, so a
 * durable task names a handler defined in code on every node, or a module and
 * export run in a worker thread. `inline` exists only in the memory store.
 */
export type CallbackRef =
  | { readonly kind: "inline" }
  | { readonly kind: "handler"; readonly name: string }
  | { readonly kind: "module"; readonly module: string; readonly export: string };

/** The callback reference plus the task's payload: the part of a task that is sealed at rest. */
export interface CallbackRecord {
  readonly callback: CallbackRef;
  readonly payload: unknown;
}

/**
 * A callback record as a store holds it. `plain` is kept readable (the memory
 * store, and test mode, which durable stores mark as such); `sealed` is opaque
 * bytes produced by the sealer (AES-256-GCM, src/crypto/): stores never look inside.
 */
export type StoredCallback =
  | { readonly encoding: "plain"; readonly record: CallbackRecord }
  | { readonly encoding: "sealed"; readonly keyId: string; readonly bytes: Uint8Array };

/**
 * Task options a store keeps (JSON-serializable; instants in epoch ms, with
 * null for "unset"). The payload is not here: it lives in the sealed record.
 */
export interface StoredTaskOptions {
  readonly timezone: string | null;
  readonly overlap: string;
  readonly misfire: string;
  readonly misfireGraceMs: number;
  readonly maxCatchUpRuns: number;
  readonly timeoutMs: number;
  readonly retries: {
    readonly attempts: number;
    readonly backoffMs: number;
    readonly factor: number;
    readonly maxBackoffMs: number;
  };
  readonly startAtMs: number | null;
  readonly endAtMs: number | null;
  readonly maxRuns: number | null;
  /** Absent when the task has no `keepLast` (records stored before it existed have none either). */
  readonly keepLast?: number;
  readonly jitterMs: number;
  readonly dayMatch: string | null;
  readonly dst: { readonly gap?: string; readonly overlap?: string } | null;
}

/** The run-state columns of a task, which change after every run. */
export interface TaskProgress {
  readonly state: TaskState;
  /** Next scheduled occurrence, epoch ms, null when none. */
  readonly nextRunAt: number | null;
  readonly lastRunAt: number | null;
  readonly lastStatus: RunStatus | null;
  readonly runCount: number;
}

/**
 * One task as stored. `version` increases on every write (optimistic
 * concurrency for shared stores); stores may keep an updated-at column of their own.
 */
export interface TaskRecord extends TaskProgress {
  /** Unique key; also the additional authenticated data of the sealed callback. */
  readonly name: string;
  readonly schedule: ScheduleSpec;
  readonly options: StoredTaskOptions;
  readonly callback: StoredCallback;
  readonly createdAt: number;
  readonly version: number;
}

/**
 * A claim on one due run, unique per (taskName, scheduledAt) across every
 * scheduler using the store: whoever gets it runs that occurrence, nobody else
 * ever does. `leaseExpiresAt` (store clock) is null for stores without leases.
 */
export interface Claim {
  readonly id: string;
  readonly taskName: string;
  readonly scheduledAt: number;
  readonly nodeId: string;
  readonly claimedAt: number;
  readonly leaseExpiresAt: number | null;
  /**
   * Grows with every claim the store grants (of any task, by any node): a
   * callback passes it to systems it writes to, which refuse a token older
   * than one they have seen (`ctx.fencingToken`).
   */
  readonly fencingToken: number;
  /**
   * True when the request was exclusive while another exclusive claim of the
   * task was held: this claim owns the run's slot, not the task. Its run must
   * not start (overlap "skip" across nodes); the holder records the run
   * skipped with `finishRun` and so releases it.
   */
  readonly overlapping?: boolean;
  /**
   * The process its attempt started outside the scheduler's process, when
   * one was recorded with {@link Store.recordProcess}: a reaped claim carries
   * it, so that whoever records the run interrupted can stop what still runs.
   */
  readonly process?: ClaimProcess;
}

/**
 * A process an attempt started outside the scheduler's process (the daemon's
 * command, in a process group of its own), as recorded on the attempt's claim.
 */
export interface ClaimProcess {
  /** The process group id: the pid of the process that leads it. */
  readonly pgid: number;
  /**
   * When that process started, as its starter identifies it, so that a pid
   * used again by another process is never taken for it (the daemon writes
   * the boot id and the start time from /proc). Opaque to stores.
   */
  readonly startTime: string;
}

/**
 * A claim of a process that died, as {@link Store.reapExpiredClaims} returns
 * it: as its dead holder had it, plus the claim the reaper now holds.
 */
export interface ReapedClaim extends Claim {
  /**
   * The same key, now held by the reaping node (a new id, fencing token and
   * lease; renewed like any claim): the run's `interrupted` row is written
   * under it with `finishRun`, and its retry, if any, runs under it.
   */
  readonly takenOver: Claim;
}

/** The lease a claim taken over by a reap gets when none is asked for, in ms. */
export const REAP_LEASE_DEFAULT_MS = 30_000;

/** A claim as the attempt made under it knows it (`ctx.taskName`, `ctx.fencingToken`). */
export interface ClaimRef {
  readonly taskName: string;
  readonly nodeId: string;
  readonly fencingToken: number;
}

/** Parameters of {@link Store.claimRun}. */
export interface ClaimRequest {
  readonly taskName: string;
  readonly scheduledAt: number;
  readonly nodeId: string;
  /** Lease length; shared stores expire the claim after it unless renewed. */
  readonly leaseMs: number;
  /**
   * A run started by `triggerTask`: unique by its own id rather than by
   * (taskName, scheduledAt), so two triggers in one millisecond both run.
   */
  readonly manual?: boolean;
  /**
   * Hold the task, not only the run: at most one unreleased exclusive claim
   * per task exists at any time (overlap "skip" across every process sharing
   * the store). While another one is held (even one whose lease expired but
   * that was not reaped yet), the run's slot is still claimed, and the claim
   * comes back `overlapping`: the run is skipped, recorded by this claimant.
   * @defaultValue false
   */
  readonly exclusive?: boolean;
  /**
   * The task's `maxRuns`, sent with the first attempt of a run of a task
   * whose `maxRuns` is finite (never with a retry: a retry is the same run).
   * The claim then also counts the run toward it, for every process sharing
   * the store, in the claim's own transaction and only while the count is
   * below it; once reached the answer is {@link MAX_RUNS_REACHED}. A claim
   * that comes back `overlapping` is not counted (its run does not start).
   */
  readonly maxRuns?: number;
}

/** A claim refused because its task's `maxRuns` runs were started already (by any process). */
export const MAX_RUNS_REACHED: { readonly maxRunsReached: true } = Object.freeze({
  maxRunsReached: true,
});

/** What a claim request gets: the claim, null (someone else has the run), or {@link MAX_RUNS_REACHED}. */
export type ClaimOutcome = Claim | typeof MAX_RUNS_REACHED | null;

/**
 * What a store answers to a request of type `R`: a request that cannot carry
 * `maxRuns` gets a claim or null, one that may gets a {@link ClaimOutcome}.
 */
export type ClaimAnswer<R extends ClaimRequest> = "maxRuns" extends keyof R
  ? ClaimOutcome
  : Claim | null;

/** A claim request without `maxRuns`: its answer is a claim or null. */
export type PlainClaimRequest = Omit<ClaimRequest, "maxRuns">;

/** The claim itself, or null for either refusal. */
export function claimOrNull(outcome: ClaimOutcome | undefined): Claim | null {
  return outcome === undefined || outcome === null || isMaxRunsReached(outcome) ? null : outcome;
}

export function isMaxRunsReached(
  outcome: ClaimOutcome | undefined,
): outcome is typeof MAX_RUNS_REACHED {
  return outcome === MAX_RUNS_REACHED;
}

/** One attempt of one run (or a run that did not happen: skipped, missed, interrupted), as history keeps it. */
export interface RunRecord {
  readonly taskName: string;
  /** The claim the attempt ran under; null for skipped and missed runs, and on a store that needed no claims. */
  readonly claimId: string | null;
  readonly scheduledAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly status: RunStatus;
  /** 1-based. */
  readonly attempt: number;
  readonly nodeId: string;
  readonly error: {
    readonly message: string;
    readonly stack?: string;
    readonly code?: string;
  } | null;
  /**
   * A `missed` row that stands for consecutive missed occurrences: the last of
   * them (`scheduledAt` is the first), and how many there were.
   */
  readonly missedThrough?: number;
  readonly missedCount?: number;
  /**
   * What the attempt produced, as JSON: the callback's return value when it is
   * a plain JSON object, or the `details` of the error it threw (for example
   * `{ exitCode, stdout, stderr }` of a shell command). Capped at
   * {@link MAX_OUTPUT_BYTES} of JSON text; absent when there was none.
   */
  readonly output?: unknown;
}

/** The most JSON text of {@link RunRecord.output} a store keeps (larger outputs are truncated by the scheduler). */
export const MAX_OUTPUT_BYTES = 150 * 1024;

/**
 * One finish of {@link Store.finishRuns}: what {@link Store.finishRun} takes,
 * plus, optionally, the task's run-state columns after the run.
 */
export interface FinishRequest {
  readonly record: RunRecord;
  readonly claim: Claim;
  /** Release the claim with the row (false: an attempt with a retry to come). */
  readonly release: boolean;
  /**
   * Written as `updateTaskProgress(record.taskName, progress, { afterRun: true })`
   * would, in the same transaction, when this finish's row is written. Of several
   * finishes of one task in a batch, the last one's whose row is written counts.
   */
  readonly progress?: TaskProgress;
}

/** Parameters of {@link Store.history}: newest first. */
export interface HistoryQuery {
  readonly taskName?: string;
  /** @defaultValue 100 */
  readonly limit?: number;
  /** Rows to pass over first (the newest `offset` matching rows): older pages. @defaultValue 0 */
  readonly offset?: number;
  /** Only rows with one of these statuses (absent: every status). */
  readonly statuses?: readonly RunStatus[];
}

/**
 * History retention: a row is deleted when any bound says so. A bound of
 * `Number.MAX_SAFE_INTEGER` or more (or Infinity) keeps everything.
 */
export interface HistoryRetention {
  /** Rows whose finish time (scheduled time, when unfinished) is older than this, in ms. */
  readonly maxAgeMs: number;
  /** Rows beyond the newest `maxRows` of the whole history. */
  readonly maxRows: number;
  /**
   * Per task name: rows beyond that task's newest N, whatever their age (the
   * age bound still applies to the N kept). Tasks not in the map: no such bound.
   */
  readonly keepLast?: ReadonlyMap<string, number>;
}

/** A bound of {@link HistoryRetention} as a whole number from 0, or null when it keeps everything. */
export function retentionBound(value: number): number | null {
  return Number.isNaN(value) || value >= Number.MAX_SAFE_INTEGER
    ? null
    : Math.max(0, Math.floor(value));
}

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
   * settled, or at or before its task's release mark): a read, no claim made.
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
