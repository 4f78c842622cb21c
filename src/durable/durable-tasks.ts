import { CallbackSealing } from "./callback-sealing.js";
import type { EncryptionKeyOption } from "../crypto/keyring.js";
import type { CronCache } from "../core/schedule.js";
import type { Task, TaskInfo } from "../core/task.js";
import { beforeEnd, type TaskScheduling } from "../core/task-window.js";
import { DecryptionError, DuplicateTaskError } from "../errors.js";
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import {
  definitionOf,
  restoreTask,
  sameDefinition,
  type RestoreHost,
  type TaskDefinition,
} from "./persisted-tasks.js";
import type { StoredCallback, Store, TaskRecord } from "../store/store.js";
import { plainCallbackOf } from "./task-record.js";
import type { Clock } from "../time/clock.js";

/** What {@link DurableTasks} needs from its Scheduler. */
export interface DurableTasksHost {
  /** The store as the engine sees it (claims held and renewed). */
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly cronCache: CronCache;
  readonly engine: TaskScheduling;
  /**
   * Records the runs that were in flight when a previous process of this node
   * died as interrupted and retries them per policy (the run engine does it).
   */
  recoverInterrupted(atStart: boolean): Promise<number>;
  /** A one-shot process (the CLI's commands): neither recovers runs nor records missed slots. */
  readonly oneShot: boolean;
  readonly tasks: Map<string, Task>;
  readonly encryptionKey: EncryptionKeyOption | undefined;
  readonly migratePlaintext: boolean;
  /** Read on every use: `scheduler.testMode` may change. */
  readonly testMode: boolean;
  hasHandler(name: string): boolean;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** How many recent history rows of a restored task are checked for occurrences already handled. */
const SKIP_LOOKBACK_ROWS = 20;

/** What {@link DurableTasks.rotateKeys} did. */
export interface RotationReport {
  /** Records sealed again with the primary key (or sealed for the first time, from plaintext). */
  readonly resealed: number;
  /** Records already sealed with the primary key (opened and authenticated, not written). */
  readonly unchanged: number;
  /**
   * Tasks whose record could not be opened (unknown key, tampered with, another
   * task's record, ...), whatever key sealed it: quarantined, left as they were.
   */
  readonly failed: readonly string[];
}

/**
 * The durable side of a Scheduler: seals callback records, loads persisted
 * tasks at start (quarantining those whose record does not open), recovers
 * runs interrupted by a crash, makes re-registering an identical task a
 * no-op, and rotates keys.
 */
export class DurableTasks {
  readonly #host: DurableTasksHost;
  #sealing: CallbackSealing | undefined;

  constructor(host: DurableTasksHost) {
    this.#host = host;
  }

  /**
   * The sealer for the current mode; made on first use (and again when
   * `testMode` changes).
   *
   * @throws InvalidArgumentError when a durable store in production mode has no key.
   */
  get sealing(): CallbackSealing {
    const host = this.#host;
    if (this.#sealing === undefined || this.#sealing.testMode !== host.testMode) {
      this.#sealing = new CallbackSealing({
        encryptionKey: host.encryptionKey,
        durable: host.store.durable,
        testMode: host.testMode,
        migratePlaintext: host.migratePlaintext,
      });
    }
    return this.#sealing;
  }

  /** The callback record of `task` as the store keeps it: sealed in production mode. */
  storedCallback(task: Task): StoredCallback {
    const plain = plainCallbackOf(task);
    if (plain.encoding !== "plain") return plain;
    const { record } = plain;
    // An inline function without payload says nothing worth hiding, and a
    // million of them share one record: the memory store keeps it as is.
    if (
      !this.#host.store.durable &&
      record.callback.kind === "inline" &&
      record.payload === undefined
    )
      return plain;
    return this.sealing.seal(task.name, record);
  }

  /**
   * Right after the store opened: checks the key (a durable store in
   * production mode without one fails here), then, for a durable store, loads
   * the persisted tasks not registered in memory yet and recovers the runs
   * that were in flight when a previous process died.
   */
  async prepare(): Promise<void> {
    const host = this.#host;
    void this.sealing;
    if (!host.store.durable) return;
    const records = await host.store.listTasks();
    const restored: Task[] = [];
    for (const record of records) {
      if (host.tasks.has(record.name)) continue;
      const task = await this.#restore(record);
      host.tasks.set(record.name, task);
      restored.push(task);
    }
    // A one-shot process leaves recovery and missed slots to the nodes.
    if (!host.oneShot) await host.recoverInterrupted(true);
    const nowMs = host.clock.nowMs();
    for (const task of restored) {
      if (!host.oneShot && task.state === "active" && task.nextRunMs <= nowMs)
        await this.#skipRecorded(task);
      this.#scheduleRestored(task);
    }
  }

  /**
   * The stored next run is written after a run ends, so a process that died
   * during a run (or between recording it and writing the task) leaves it
   * pointing at an occurrence that history already has (run, interrupted,
   * missed): move past those, so that they are neither claimed again nor
   * reported as skipped.
   */
  async #skipRecorded(task: Task): Promise<void> {
    const rows = await this.#host.store.history({ taskName: task.name, limit: SKIP_LOOKBACK_ROWS });
    // Occurrences history already has: one each, or a range for a summarised missed row.
    let recordedThrough = Number.NEGATIVE_INFINITY;
    for (const row of rows) {
      recordedThrough = Math.max(recordedThrough, row.missedThrough ?? row.scheduledAt);
    }
    let next: number | null = task.nextRunMs;
    if (next <= recordedThrough) next = task.schedule.next(recordedThrough);
    if (next === task.nextRunMs) return;
    const runnable = beforeEnd(task.options, next);
    if (runnable === null) {
      task.nextRunMs = Number.NaN;
      task.state = "completed";
    } else {
      task.nextRunMs = runnable;
    }
  }

  /**
   * True when registering `definition` under the name of `existing` (a task
   * in memory) changes nothing, so that registration is a no-op. A
   * quarantined task never compares equal (its record could not be read).
   */
  isSameAsExisting(existing: Task, definition: TaskDefinition, callback: unknown): boolean {
    if (existing.state === "quarantined" || existing.removed) return false;
    if (typeof existing.callback === "function" && existing.callback !== callback) return false;
    return sameDefinition(definitionOf(existing), definition);
  }

  /**
   * The store already has a task of the name of `task`, which was just
   * registered in memory (another process stored it, or it was registered
   * before `start()` loaded it). An identical definition keeps the stored run
   * state (next run, run count): `task` takes it over and the registration
   * resolves. A different one rejects with DuplicateTaskError, and the stored
   * task replaces `task` in memory.
   */
  async adoptStored(task: Task): Promise<TaskInfo> {
    const host = this.#host;
    const record = await host.store.getTask(task.name);
    if (record === undefined) throw new DuplicateTaskError(task.name);
    const restored = await this.#restore(record);
    if (restored.state === "active" && restored.nextRunMs <= host.clock.nowMs())
      await this.#skipRecorded(restored);
    const current = host.tasks.get(task.name) === task;
    if (
      restored.state !== "quarantined" &&
      sameDefinition(definitionOf(task), definitionOf(restored))
    ) {
      if (!current) return task.info();
      // The stored task wins: its run state, and its schedule (an interval keeps its first anchor).
      host.engine.detach(task);
      host.tasks.set(task.name, restored);
      this.#scheduleRestored(restored);
      return restored.info();
    }
    if (current) {
      host.engine.detach(task);
      host.tasks.set(task.name, restored);
      this.#scheduleRestored(restored);
    }
    throw new DuplicateTaskError(task.name);
  }

  /**
   * Opens (authenticates) every stored record, and seals each one that is not
   * sealed with the primary key (or is plaintext, with `migratePlaintext`)
   * again with the primary key, one record at a time. A record that does not
   * open is reported in `failed`, even when the primary key sealed it. Each
   * write replaces one valid record with another, so a rotation that stops
   * half way loses nothing and simply runs again.
   */
  async rotateKeys(): Promise<RotationReport> {
    const host = this.#host;
    const sealing = this.sealing;
    let resealed = 0;
    let unchanged = 0;
    const failed: string[] = [];
    for (const record of await host.store.listTasks()) {
      let opened;
      try {
        opened = sealing.open(record.name, record.callback);
      } catch (error) {
        failed.push(record.name);
        const task = host.tasks.get(record.name);
        if (task !== undefined && task.state !== "quarantined") {
          host.engine.pause(task);
          task.state = "quarantined";
          this.#reportQuarantine(record.name, error);
        }
        continue;
      }
      if (!sealing.needsReseal(record.callback)) {
        unchanged++;
        continue;
      }
      if (await host.store.updateTaskCallback(record.name, sealing.seal(record.name, opened)))
        resealed++;
    }
    return { resealed, unchanged, failed };
  }

  async #restore(record: TaskRecord): Promise<Task> {
    const host = this.#host;
    const restoreHost: RestoreHost = {
      sealing: this.sealing,
      cronCache: host.cronCache,
      logger: host.logger,
      hasHandler: (name) => host.hasHandler(name),
      emit: (event, ...payload) => host.emit(event, ...payload),
    };
    const { task, opened } = restoreTask(restoreHost, record);
    if (
      opened !== null &&
      record.callback.encoding === "plain" &&
      this.sealing.needsReseal(record.callback)
    ) {
      // migratePlaintext: the plaintext record opened; seal it now.
      try {
        await host.store.updateTaskCallback(record.name, this.sealing.seal(record.name, opened));
      } catch (error) {
        host.emit("scheduler:error", { error, context: "migrate", taskName: record.name });
      }
    }
    return task;
  }

  #scheduleRestored(task: Task): void {
    if (task.state === "active" && !Number.isNaN(task.nextRunMs)) {
      this.#host.engine.schedule(task, task.nextRunMs);
    }
  }

  #reportQuarantine(taskName: string, error: unknown): void {
    const reason = error instanceof DecryptionError ? error.reason : undefined;
    safeLog(
      this.#host.logger,
      "error",
      { err: error, taskName, reason },
      `Task ${JSON.stringify(taskName)} quarantined: its stored callback record could not be opened`,
    );
    this.#host.emit("task:quarantined", { taskName, error, reason });
  }
}
