import { randomUUID } from "node:crypto";
import { DuplicateTaskError, InvalidArgumentError } from "../errors.js";
import { SystemClock, type Clock } from "../time/clock.js";
import type { DaemonRecords } from "./daemon-records.js";
import { MemoryDaemonRecords } from "./memory-daemon-records.js";
import { MemoryNotificationOutbox } from "./memory-notification-outbox.js";
import type { NotificationOutbox } from "./notification-outbox.js";
import type {
  ClaimAnswer,
  ClaimOutcome,
  Claim,
  ClaimRequest,
  HistoryQuery,
  HistoryRetention,
  ReapedClaim,
  RunRecord,
  Store,
  StoreOpenContext,
  StoredCallback,
  TaskProgress,
  TaskRecord,
} from "./store.js";
import { MAX_RUNS_REACHED, retentionBound } from "./store.js";
import { countByStatus, summarize, type TaskSummary } from "./task-summary.js";

/** A stored record the store may update in place. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The store's own copy of a record (a literal of one shape: quicker than a spread). */
function ownCopy(record: TaskRecord): Mutable<TaskRecord> {
  return {
    name: record.name,
    schedule: record.schedule,
    options: record.options,
    callback: record.callback,
    createdAt: record.createdAt,
    version: record.version,
    state: record.state,
    nextRunAt: record.nextRunAt,
    lastRunAt: record.lastRunAt,
    lastStatus: record.lastStatus,
    runCount: record.runCount,
  };
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * History rows kept; the oldest are dropped beyond it.
   * @defaultValue 10000
   */
  maxHistoryRows?: number;
  /**
   * Audit rows kept (see `records`); the oldest are dropped beyond it.
   * @defaultValue 10000
   */
  maxAuditRows?: number;
}

/** The defaults of {@link MemoryStoreOptions}. */
export const MEMORY_STORE_DEFAULTS = Object.freeze({
  maxHistoryRows: 10_000,
  maxAuditRows: 10_000,
} satisfies Required<MemoryStoreOptions>);

/**
 * The default store: everything in this process's memory, lost on exit.
 * Several schedulers in one process may share one MemoryStore; claims then
 * give each (task, scheduled time) to exactly one of them.
 *
 * To stay small with a million tasks it keeps the record objects it is given
 * (it never changes them: an update stores a new object) and copies on read.
 */
export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly durable = false;
  readonly shared = false;
  /** The store's own copies: progress updates change them in place (readers get copies). */
  readonly #tasks = new Map<string, Mutable<TaskRecord>>();
  /** Claims not yet released, by `name\0scheduledAt` (or claim id for manual runs). */
  readonly #active = new Map<string, Claim>();
  /** The unreleased exclusive claim of each task that has one. */
  readonly #exclusive = new Map<string, Claim>();
  /** Runs counted toward a finite maxRuns, by task name (see ClaimRequest.maxRuns). */
  readonly #runsStarted = new Map<string, number>();
  /** Per task, the latest scheduled time whose claim was released: nothing at or before it is claimable again. */
  readonly #released = new Map<string, number>();
  /** Per task, occurrences after its mark settled as skipped or missed (see settleSlots). */
  readonly #settled = new Map<string, Set<number>>();
  /** Per task, missed ranges settled that end after its mark, first to last (see settleSlots). */
  readonly #settledRanges = new Map<string, [number, number][]>();
  /** The last fencing token granted. */
  #token = 0;
  #history: RunRecord[] = [];
  readonly #maxHistoryRows: number;
  #clock: Clock = new SystemClock();
  readonly #users = new Set<string>();
  /** The audit log, schedule files and task origins, in memory. */
  readonly records: DaemonRecords;
  /** The notification outbox, in memory. */
  readonly notifications: NotificationOutbox = new MemoryNotificationOutbox();

  constructor(options: MemoryStoreOptions = {}) {
    const rows = options.maxHistoryRows ?? MEMORY_STORE_DEFAULTS.maxHistoryRows;
    if (!Number.isSafeInteger(rows) || rows < 0) {
      throw new InvalidArgumentError("options.maxHistoryRows", "a whole number from 0 up", rows);
    }
    this.#maxHistoryRows = rows;
    const auditRows = options.maxAuditRows ?? MEMORY_STORE_DEFAULTS.maxAuditRows;
    if (!Number.isSafeInteger(auditRows) || auditRows < 0) {
      throw new InvalidArgumentError("options.maxAuditRows", "a whole number from 0 up", auditRows);
    }
    this.records = new MemoryDaemonRecords(auditRows, () => this.#clock.nowMs());
  }

  open(context: StoreOpenContext): Promise<void> {
    this.#clock = context.clock;
    this.#users.add(context.nodeId);
    return Promise.resolve();
  }
  /** Claims matter only once a second scheduler (node id) shares this store. */
  claimsRequired(): boolean {
    return this.#users.size > 1;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  schemaVersion(): Promise<number> {
    return Promise.resolve(0);
  }
  now(): Promise<number> {
    return Promise.resolve(this.#clock.nowMs());
  }

  putTask(record: TaskRecord, options: { readonly replace: boolean }): Promise<void> {
    try {
      this.putTaskSync(record, options);
      return Promise.resolve();
    } catch (error) {
      // prefer-promise-reject-errors wants an Error; putTaskSync throws only errors.ts classes.
      return Promise.reject(error as Error); // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion -- see above
    }
  }
  putTaskSync(record: TaskRecord, options: { readonly replace: boolean }): void {
    if (!options.replace && this.#tasks.has(record.name)) throw new DuplicateTaskError(record.name);
    this.#tasks.set(record.name, ownCopy(record));
  }
  getTask(name: string): Promise<TaskRecord | undefined> {
    const record = this.#tasks.get(name);
    return Promise.resolve(record === undefined ? undefined : { ...record });
  }
  listTasks(): Promise<TaskRecord[]> {
    return Promise.resolve(Array.from(this.#tasks.values(), (record) => ({ ...record })));
  }
  updateTaskProgress(name: string, progress: TaskProgress): Promise<boolean> {
    const record = this.#tasks.get(name);
    if (record === undefined) return Promise.resolve(false);
    // In place, not a new record per run: a burst of runs leaves little for the next collection.
    record.state = progress.state;
    record.nextRunAt = progress.nextRunAt;
    record.lastRunAt = progress.lastRunAt;
    record.lastStatus = progress.lastStatus;
    record.runCount = progress.runCount;
    record.version++;
    return Promise.resolve(true);
  }
  updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean> {
    const record = this.#tasks.get(name);
    if (record === undefined) return Promise.resolve(false);
    record.callback = callback;
    record.version++;
    return Promise.resolve(true);
  }
  deleteTask(name: string): Promise<boolean> {
    return Promise.resolve(this.deleteTaskSync(name));
  }
  deleteTaskSync(name: string): boolean {
    return this.#tasks.delete(name);
  }

  claimRun<R extends ClaimRequest>(request: R): Promise<ClaimAnswer<R>> {
    return Promise.resolve(this.#claim(request) as ClaimAnswer<R>);
  }
  claimRuns<R extends ClaimRequest>(requests: readonly R[]): Promise<ClaimAnswer<R>[]> {
    return Promise.resolve(requests.map((request) => this.#claim(request) as ClaimAnswer<R>));
  }
  #claim(request: ClaimRequest): ClaimOutcome {
    const started = this.#runsStarted.get(request.taskName) ?? 0;
    if (request.maxRuns !== undefined && started >= request.maxRuns) return MAX_RUNS_REACHED;
    const claim = this.#claimSlot(request);
    if (request.maxRuns !== undefined && claim !== null && claim.overlapping !== true)
      this.#runsStarted.set(request.taskName, started + 1);
    return claim;
  }
  #claimSlot(request: ClaimRequest): Claim | null {
    const id = randomUUID();
    const key = request.manual === true ? id : `${request.taskName}\u0000${request.scheduledAt}`;
    if (this.#active.has(key)) return null;
    if (
      request.manual !== true &&
      this.#isSettled(request.taskName, request.scheduledAt, request.scheduledAt)
    )
      return null;
    const overlapping = request.exclusive === true && this.#exclusive.has(request.taskName);
    const claim: Claim = {
      id,
      taskName: request.taskName,
      scheduledAt: request.scheduledAt,
      nodeId: request.nodeId,
      claimedAt: this.#clock.nowMs(),
      leaseExpiresAt: null,
      fencingToken: ++this.#token,
      ...(overlapping ? { overlapping } : {}),
    };
    this.#active.set(key, claim);
    if (request.exclusive === true && !overlapping) this.#exclusive.set(request.taskName, claim);
    return claim;
  }

  /** True when an occurrence of the task from `fromMs` to `toMs` was released or settled (a missed range covers it). */
  #isSettled(taskName: string, fromMs: number, toMs: number): boolean {
    if (toMs <= (this.#released.get(taskName) ?? Number.NEGATIVE_INFINITY)) return true;
    for (const [first, last] of this.#settledRanges.get(taskName) ?? [])
      if (first <= toMs && last >= fromMs) return true;
    const settled = this.#settled.get(taskName);
    if (settled === undefined) return false;
    for (const at of settled) if (at >= fromMs && at <= toMs) return true;
    return false;
  }
  /**
   * For settleSlots: true when an occurrence of the task from `fromMs` to
   * `toMs` was settled, or, at or before its claim mark (which remembers only
   * the latest released occurrence), has a history row: claimed and
   * recorded, or settled. One nobody claimed or recorded is still free.
   */
  #settledOrRecorded(taskName: string, fromMs: number, toMs: number): boolean {
    const settled = this.#settled.get(taskName);
    if (settled !== undefined)
      for (const at of settled) if (at >= fromMs && at <= toMs) return true;
    // A missed range is settled on its last occurrence: an occurrence inside it is taken too.
    for (const [first, last] of this.#settledRanges.get(taskName) ?? [])
      if (first <= toMs && last >= fromMs) return true;
    if (fromMs > (this.#released.get(taskName) ?? Number.NEGATIVE_INFINITY)) return false;
    return this.#history.some(
      (row) =>
        row.taskName === taskName &&
        row.scheduledAt <= toMs &&
        (row.missedThrough ?? row.scheduledAt) >= fromMs,
    );
  }
  renewLease(claim: Claim): Promise<boolean> {
    return Promise.resolve(this.#active.get(this.#keyOf(claim)) === claim);
  }
  releaseClaim(claim: Claim): Promise<void> {
    const key = this.#keyOf(claim);
    if (this.#active.get(key) !== claim) return Promise.resolve();
    this.#active.delete(key);
    if (this.#exclusive.get(claim.taskName) === claim) this.#exclusive.delete(claim.taskName);
    if (key !== claim.id) {
      const released = this.#released.get(claim.taskName) ?? Number.NEGATIVE_INFINITY;
      if (claim.scheduledAt > released) {
        this.#released.set(claim.taskName, claim.scheduledAt);
        const settled = this.#settled.get(claim.taskName);
        if (settled !== undefined) {
          for (const at of settled) if (at <= claim.scheduledAt) settled.delete(at);
          if (settled.size === 0) this.#settled.delete(claim.taskName);
        }
        // Under the mark, history answers for the ranges (the slow path of late settles).
        const ranges = this.#settledRanges
          .get(claim.taskName)
          ?.filter(([, last]) => last > claim.scheduledAt);
        if (ranges === undefined || ranges.length === 0) this.#settledRanges.delete(claim.taskName);
        else this.#settledRanges.set(claim.taskName, ranges);
      }
    }
    return Promise.resolve();
  }
  /** Forgets a claim whose run never started; its key may be claimed again. */
  giveBack(claim: Claim): Promise<void> {
    const key = this.#keyOf(claim);
    if (this.#active.get(key) !== claim) return Promise.resolve();
    this.#active.delete(key);
    if (this.#exclusive.get(claim.taskName) === claim) this.#exclusive.delete(claim.taskName);
    return Promise.resolve();
  }
  reapExpiredClaims(): Promise<ReapedClaim[]> {
    // Claims live and die with this process: none can outlive their holder.
    return Promise.resolve([]);
  }

  recordRun(record: RunRecord): Promise<void> {
    if (this.#maxHistoryRows === 0) return Promise.resolve();
    this.#history.push(record);
    // Trim in batches so that appends stay O(1) amortised.
    if (this.#history.length > this.#maxHistoryRows * 1.25 + 16) {
      this.#history = this.#history.slice(-this.#maxHistoryRows);
    }
    return Promise.resolve();
  }
  /** Records the run and releases its claim in one step, if the claim is still held (nothing can run in between). */
  async finishRun(
    record: RunRecord,
    claim: Claim,
    options?: { readonly release?: boolean },
  ): Promise<boolean> {
    if (this.#active.get(this.#keyOf(claim)) !== claim) return false;
    await this.recordRun(record);
    if (options?.release !== false) await this.releaseClaim(claim);
    return true;
  }

  /** Records each skipped or missed run whose occurrences nobody claimed, and settles them (see Store). */
  settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
    return Promise.resolve(
      records.map((record) => {
        const last = record.missedThrough ?? record.scheduledAt;
        if (this.#settledOrRecorded(record.taskName, record.scheduledAt, last)) return false;
        for (const claim of this.#active.values()) {
          const at = claim.scheduledAt;
          if (claim.taskName === record.taskName && at >= record.scheduledAt && at <= last)
            return false;
        }
        let settled = this.#settled.get(record.taskName);
        if (settled === undefined) this.#settled.set(record.taskName, (settled = new Set()));
        settled.add(last);
        if (record.missedThrough !== undefined) {
          const ranges = this.#settledRanges.get(record.taskName);
          if (ranges === undefined)
            this.#settledRanges.set(record.taskName, [[record.scheduledAt, last]]);
          else ranges.push([record.scheduledAt, last]);
        }
        void this.recordRun(record);
        return true;
      }),
    );
  }
  history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const limit = query.limit ?? 100;
    let skip = query.offset ?? 0;
    const statuses = query.statuses;
    const rows: RunRecord[] = [];
    const keep = Math.min(this.#maxHistoryRows, this.#history.length);
    for (
      let i = this.#history.length - 1;
      i >= this.#history.length - keep && rows.length < limit;
      i--
    ) {
      const row = this.#history[i] as RunRecord;
      if (query.taskName !== undefined && row.taskName !== query.taskName) continue;
      if (statuses !== undefined && !statuses.includes(row.status)) continue;
      if (skip > 0) skip--;
      else rows.push(row);
    }
    return Promise.resolve(rows);
  }
  /** Summaries computed from the rows held (one pass, newest first). */
  taskSummaries(names: readonly string[]): Promise<Map<string, TaskSummary>> {
    const rows = new Map(names.map((name) => [name, [] as RunRecord[]]));
    const keep = Math.min(this.#maxHistoryRows, this.#history.length);
    for (let i = this.#history.length - 1; i >= this.#history.length - keep; i--) {
      const row = this.#history[i] as RunRecord;
      rows.get(row.taskName)?.push(row);
    }
    const found = new Map<string, TaskSummary>();
    for (const [name, newest] of rows)
      if (newest.length > 0) found.set(name, summarize(name, newest, countByStatus(newest)));
    return Promise.resolve(found);
  }
  pruneHistory(retention: HistoryRetention): Promise<number> {
    const history = this.#history;
    const maxAgeMs = retentionBound(retention.maxAgeMs);
    const oldest = maxAgeMs === null ? Number.NEGATIVE_INFINITY : this.#clock.nowMs() - maxAgeMs;
    const maxRows = retentionBound(retention.maxRows) ?? Number.POSITIVE_INFINITY;
    const keepLast = retention.keepLast;
    // Newest first: a row stays when it is young, among the newest maxRows, and among its task's newest N.
    const kept: RunRecord[] = [];
    const perTask = new Map<string, number>();
    for (let i = history.length - 1; i >= 0 && kept.length < maxRows; i--) {
      const row = history[i] as RunRecord;
      if ((row.finishedAt ?? row.scheduledAt) < oldest) continue;
      const limit = keepLast?.get(row.taskName);
      if (limit !== undefined) {
        const seen = perTask.get(row.taskName) ?? 0;
        perTask.set(row.taskName, seen + 1);
        if (seen >= limit) continue;
      }
      kept.push(row);
    }
    this.#history = kept.reverse();
    return Promise.resolve(history.length - kept.length);
  }

  #keyOf(claim: Claim): string {
    const key = `${claim.taskName}\u0000${claim.scheduledAt}`;
    return this.#active.get(key) === claim ? key : claim.id;
  }
}
