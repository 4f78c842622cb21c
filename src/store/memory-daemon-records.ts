import type {
  CancelRequest,
  AuditEntry,
  AuditQuery,
  AuditRetention,
  DaemonRecords,
  ScheduleFileRecord,
  TaskOrigin,
} from "./daemon-records.js";

/** Copies of a map's values, in the order of their keys (as the SQL stores list them). */
function copiesByKey<T extends object>(map: ReadonlyMap<string, T>): T[] {
  return [...map.keys()].sort().map((key) => ({ ...(map.get(key) as T) }));
}

/** The {@link DaemonRecords} of the MemoryStore: plain maps and an array, lost on exit. */
export class MemoryDaemonRecords implements DaemonRecords {
  #audit: AuditEntry[] = [];
  readonly #maxAuditRows: number;
  readonly #now: () => number;
  readonly #files = new Map<string, ScheduleFileRecord>();
  readonly #origins = new Map<string, TaskOrigin>();
  readonly #cancels = new Map<string, CancelRequest>();

  /**
   * @param maxAuditRows - audit rows kept; the oldest are dropped beyond it.
   * @param now - the store's clock (epoch ms), for age-based pruning.
   */
  constructor(maxAuditRows: number, now: () => number) {
    this.#maxAuditRows = maxAuditRows;
    this.#now = now;
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    if (this.#maxAuditRows === 0) return Promise.resolve();
    this.#audit.push({ ...entry });
    // Trim in batches so that appends stay O(1) amortised.
    if (this.#audit.length > this.#maxAuditRows * 1.25 + 16) {
      this.#audit = this.#audit.slice(-this.#maxAuditRows);
    }
    return Promise.resolve();
  }

  auditLog(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = Math.max(0, Math.floor(query.limit ?? 50));
    const rows: AuditEntry[] = [];
    const stop = Math.max(0, this.#audit.length - this.#maxAuditRows);
    for (let i = this.#audit.length - 1; i >= stop && rows.length < limit; i--) {
      const row = this.#audit[i] as AuditEntry;
      if (query.taskName === undefined || row.taskName === query.taskName) rows.push({ ...row });
    }
    return Promise.resolve(rows);
  }

  pruneAudit(retention: AuditRetention): Promise<number> {
    const before = this.#audit.length;
    const oldest = this.#now() - retention.maxAgeMs;
    const young = this.#audit.filter((row) => row.at >= oldest);
    this.#audit = retention.maxRows <= 0 ? [] : young.slice(-retention.maxRows);
    return Promise.resolve(before - this.#audit.length);
  }

  putScheduleFile(record: ScheduleFileRecord): Promise<void> {
    this.#files.set(record.source, { ...record });
    return Promise.resolve();
  }

  scheduleFiles(): Promise<ScheduleFileRecord[]> {
    return Promise.resolve(copiesByKey(this.#files));
  }

  putTaskOrigins(origins: readonly TaskOrigin[]): Promise<void> {
    for (const origin of origins) this.#origins.set(origin.taskName, { ...origin });
    return Promise.resolve();
  }

  deleteTaskOrigins(taskNames: readonly string[]): Promise<void> {
    for (const name of taskNames) this.#origins.delete(name);
    return Promise.resolve();
  }

  taskOrigins(): Promise<TaskOrigin[]> {
    return Promise.resolve(copiesByKey(this.#origins));
  }

  requestCancel(request: CancelRequest): Promise<void> {
    this.#cancels.set(request.taskName, { ...request });
    return Promise.resolve();
  }

  cancelRequests(): Promise<CancelRequest[]> {
    return Promise.resolve(copiesByKey(this.#cancels));
  }

  deleteCancelRequest(taskName: string, requestedAt: number): Promise<boolean> {
    if (this.#cancels.get(taskName)?.requestedAt !== requestedAt) return Promise.resolve(false);
    this.#cancels.delete(taskName);
    return Promise.resolve(true);
  }
}
