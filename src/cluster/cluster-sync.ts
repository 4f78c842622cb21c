import type { CallbackSealing } from "../durable/callback-sealing.js";
import type { CronCache } from "../core/schedule.js";
import type { Task } from "../core/task.js";
import { firstRunOf, type TaskScheduling } from "../core/task-window.js";
import type { SchedulerEvents, TaskSyncedEvent } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import {
  definitionOf,
  restoreTask,
  sameDefinition,
  stableJson,
  type RestoreHost,
} from "../durable/persisted-tasks.js";
import type { Store, StoreChange, TaskRecord } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What {@link ClusterSync} needs from its Scheduler. */
export interface ClusterSyncHost {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly cronCache: CronCache;
  readonly engine: TaskScheduling;
  readonly tasks: Map<string, Task>;
  /** Every task is read again this often, in ms, in case a notification was lost (0: never). */
  readonly resyncIntervalMs: number;
  /** The sealer of the current mode (read on each use). */
  readonly sealing: CallbackSealing;
  hasHandler(name: string): boolean;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** Above this many changed tasks at once, one `listTasks` is cheaper than a `getTask` each. */
const BATCH_READ_THRESHOLD = 64;

const SILENT_LOGGER: Logger = { info() {}, warn() {}, error() {} };

/**
 * Keeps this node's tasks in step with a shared store. Every change another
 * node makes (a task added, replaced, paused, resumed or removed; NOTIFY in
 * PostgreSQL) wakes it: the task is read from the store and applied to the
 * local heap, so the change takes effect cluster-wide within a round trip.
 * After a lost subscription (changes may have been missed), and every
 * `resyncIntervalMs` as a safety net, every task is read again.
 *
 * A task is removed here only when it is gone from the store and this sync
 * had seen it there: a task registered here whose write is still in flight is
 * never taken for a deleted one.
 */
export class ClusterSync {
  readonly #host: ClusterSyncHost;
  /** What was last applied per task: the record's definition and state, not its run counters. */
  readonly #seen = new Map<string, string>();
  readonly #pending = new Set<string>();
  /** Writes of this node in flight, per task: the store may not show them yet. */
  readonly #writing = new Map<string, number>();
  #resyncWanted = false;
  #queued = false;
  #flushing: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Resyncs done (for tests and diagnostics). */
  resyncs = 0;

  constructor(host: ClusterSyncHost) {
    this.#host = host;
  }

  /** True when the store reports other nodes' changes. */
  get active(): boolean {
    return this.#unwatch !== undefined;
  }

  /** Subscribes (idempotent); every subscription, the first included, is followed by a full resync. */
  start(): void {
    const { store } = this.#host;
    if (this.#unwatch !== undefined || !store.shared || store.watch === undefined) return;
    this.#unwatch = store.watch(this.#onChange, {
      onListening: () => this.resync(),
    });
    const every = this.#host.resyncIntervalMs;
    if (every > 0) {
      this.#timer = setInterval(() => this.resync(), every);
      this.#timer.unref();
    }
  }

  /** Unsubscribes; a flush in progress finishes. */
  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    this.#resyncWanted = false;
  }

  /** Asks for every task to be read again (coalesced with other requests). */
  resync(): void {
    this.#resyncWanted = true;
    this.#schedule();
  }

  /**
   * Marks a write of this node to the task `name` as in flight until
   * `write` settles: meanwhile the store may still show the task as it was,
   * so reads of it are not applied; once written, it is read again.
   */
  guard<T>(name: string, write: Promise<T>): Promise<T> {
    this.#writing.set(name, (this.#writing.get(name) ?? 0) + 1);
    const settled = (): void => {
      const left = (this.#writing.get(name) ?? 1) - 1;
      if (left > 0) this.#writing.set(name, left);
      else this.#writing.delete(name);
      if (this.#unwatch !== undefined) {
        this.#pending.add(name);
        this.#schedule();
      }
    };
    write.then(settled, settled);
    return write;
  }

  /** Resolves when nothing is pending any more (for tests). */
  async settled(): Promise<void> {
    while (this.#queued || this.#flushing !== undefined) {
      await (this.#flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  readonly #onChange = (change: StoreChange): void => {
    this.#pending.add(change.taskName);
    this.#schedule();
  };

  #schedule(): void {
    if (this.#queued || this.#flushing !== undefined) return;
    this.#queued = true;
    setImmediate(() => {
      this.#queued = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#unwatch !== undefined && (this.#pending.size > 0 || this.#resyncWanted))
          this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const { store } = this.#host;
    while (this.#unwatch !== undefined && (this.#resyncWanted || this.#pending.size > 0)) {
      const full = this.#resyncWanted || this.#pending.size > BATCH_READ_THRESHOLD;
      const names = [...this.#pending];
      const resync = this.#resyncWanted;
      this.#resyncWanted = false;
      this.#pending.clear();
      try {
        if (full) {
          const records = await store.listTasks();
          const byName = new Map(records.map((record) => [record.name, record]));
          if (resync) {
            this.resyncs++;
            for (const record of records) this.#apply(record.name, record);
            for (const name of [...this.#host.tasks.keys()])
              if (!byName.has(name)) this.#apply(name, undefined);
          } else {
            for (const name of names) this.#apply(name, byName.get(name));
          }
        } else {
          const records = await Promise.all(names.map((name) => store.getTask(name)));
          names.forEach((name, index) => this.#apply(name, records[index]));
        }
      } catch (error) {
        // The store is unreachable: try again at the next change, reconnection or resync.
        if (resync) this.#resyncWanted = true;
        for (const name of names) this.#pending.add(name);
        this.#host.emit("scheduler:error", { error, context: "sync" });
        return;
      }
    }
  }

  /** Applies the stored state of one task (undefined: not in the store) to the local one. */
  #apply(name: string, record: TaskRecord | undefined): void {
    const host = this.#host;
    // Read while this node's own write was in flight: it is read again once written.
    if (this.#writing.has(name)) return;
    const local = host.tasks.get(name);
    if (record === undefined) {
      if (local !== undefined && this.#seen.has(name)) {
        host.tasks.delete(name);
        host.engine.detach(local);
        host.emit("task:removed", { taskName: name });
        this.#synced(name, "removed");
      }
      this.#seen.delete(name);
      return;
    }
    const fingerprint = fingerprintOf(record);
    if (local !== undefined && this.#seen.get(name) === fingerprint) return;
    this.#seen.set(name, fingerprint);
    const quiet = restoreTask(this.#restoreHost(false), record).task;
    if (local === undefined) {
      this.#install(record, undefined);
      this.#synced(name, quiet.state === "quarantined" ? "quarantined" : "added");
      return;
    }
    const sameTask =
      local.state !== "quarantined" &&
      quiet.state !== "quarantined" &&
      (typeof local.callback !== "function" || local.callback === quiet.callback) &&
      sameDefinition(definitionOf(local), definitionOf(quiet));
    if (!sameTask) {
      if (local.state === "quarantined" && quiet.state === "quarantined") return;
      this.#install(record, local);
      this.#synced(name, quiet.state === "quarantined" ? "quarantined" : "replaced");
      return;
    }
    if (record.state === "paused" && local.state === "active") {
      host.engine.pause(local);
      this.#synced(name, "paused");
    } else if (record.state === "active" && local.state === "paused") {
      host.engine.resume(local);
      this.#synced(name, "resumed");
    }
  }

  /** Puts the task of `record` in memory (and in the heap when active), in place of `replaced`. */
  #install(record: TaskRecord, replaced: Task | undefined): void {
    const host = this.#host;
    const { task } = restoreTask(this.#restoreHost(true), record);
    if (replaced !== undefined) host.engine.detach(replaced);
    host.tasks.set(record.name, task);
    if (task.state !== "active") return;
    const nowMs = host.clock.nowMs();
    let next: number | null = task.nextRunMs;
    // A stored next run older than the grace period was run (or missed) by the nodes that
    // had the task then: this node joins from now, rather than catching up on their behalf.
    if (Number.isNaN(next) || next < nowMs - task.options.misfireGraceMs) {
      next = firstRunOf(task.schedule, task.options, nowMs);
    }
    if (next !== null) host.engine.schedule(task, next);
  }

  #synced(taskName: string, change: TaskSyncedEvent["change"]): void {
    safeLog(this.#host.logger, "info", { taskName, change }, "Task changed by another node");
    this.#host.emit("task:synced", { taskName, change });
  }

  #restoreHost(loud: boolean): RestoreHost {
    const host = this.#host;
    return {
      sealing: host.sealing,
      cronCache: host.cronCache,
      logger: loud ? host.logger : SILENT_LOGGER,
      hasHandler: (handler) => host.hasHandler(handler),
      emit: loud ? (event, ...payload) => host.emit(event, ...payload) : () => {},
    };
  }
}

/** The parts of a record whose change matters to other nodes: definition, sealed callback, state. */
function fingerprintOf(record: TaskRecord): string {
  const callback =
    record.callback.encoding === "plain"
      ? stableJson(record.callback.record)
      : `${record.callback.keyId}:${Buffer.from(record.callback.bytes).toString("base64")}`;
  return `${stableJson({ schedule: record.schedule, options: record.options, state: record.state })}\n${callback}`;
}
