import type {
  Claim,
  HistoryQuery,
  HistoryRetention,
  RunRecord,
  Store,
  StoreChange,
  StoreOpenContext,
  StoredCallback,
  TaskProgress,
  TaskRecord,
  WatchOptions,
} from "../store/store.js";

/**
 * The calls of a {@link Store} that `LeasedStore` passes to the store
 * unchanged: its identity, opening, task records, run history. `LeasedStore`
 * extends it with what claims and leases need, so that its file holds only that.
 */
export class StorePassThrough {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
    // Offered only when the store offers them: callers test for them.
    if (store.putTaskSync !== undefined) {
      this.putTaskSync = (record, options) => store.putTaskSync?.(record, options);
    }
    if (store.deleteTaskSync !== undefined) {
      this.deleteTaskSync = (name) => store.deleteTaskSync?.(name) ?? false;
    }
    if (store.claimsRequired !== undefined) {
      this.claimsRequired = () => store.claimsRequired?.() ?? true;
    }
    if (store.takenRuns !== undefined) {
      this.takenRuns = (keys) => store.takenRuns?.(keys) ?? Promise.resolve(keys.map(() => false));
    }
    if (store.watch !== undefined) {
      this.watch = (listener: (change: StoreChange) => void, options?: WatchOptions) =>
        store.watch?.(listener, options) ?? (() => {});
    }
  }

  get kind(): string {
    return this.#store.kind;
  }
  get durable(): boolean {
    return this.#store.durable;
  }
  get shared(): boolean {
    return this.#store.shared;
  }

  putTaskSync?: Store["putTaskSync"];
  deleteTaskSync?: Store["deleteTaskSync"];
  claimsRequired?: Store["claimsRequired"];
  watch?: Store["watch"];
  takenRuns?: Store["takenRuns"];

  open(context: StoreOpenContext): Promise<void> {
    return this.#store.open(context);
  }
  schemaVersion(): Promise<number> {
    return this.#store.schemaVersion();
  }
  now(): Promise<number> {
    return this.#store.now();
  }
  putTask(record: TaskRecord, options: { readonly replace: boolean }): Promise<void> {
    return this.#store.putTask(record, options);
  }
  getTask(name: string): Promise<TaskRecord | undefined> {
    return this.#store.getTask(name);
  }
  listTasks(): Promise<TaskRecord[]> {
    return this.#store.listTasks();
  }
  updateTaskProgress(
    name: string,
    progress: TaskProgress,
    options?: { readonly afterRun?: boolean },
  ): Promise<boolean> {
    return this.#store.updateTaskProgress(name, progress, options);
  }
  updateTaskCallback(name: string, callback: StoredCallback): Promise<boolean> {
    return this.#store.updateTaskCallback(name, callback);
  }
  deleteTask(name: string): Promise<boolean> {
    return this.#store.deleteTask(name);
  }
  renewLease(claim: Claim, leaseMs: number): Promise<boolean> {
    return this.#store.renewLease(claim, leaseMs);
  }
  recordRun(record: RunRecord): Promise<void> {
    return this.#store.recordRun(record);
  }
  history(query?: HistoryQuery): Promise<RunRecord[]> {
    return this.#store.history(query);
  }
  pruneHistory(retention: HistoryRetention): Promise<number> {
    return this.#store.pruneHistory(retention);
  }
  maintainHistory(): Promise<void> {
    return this.#store.maintainHistory?.() ?? Promise.resolve();
  }
}
