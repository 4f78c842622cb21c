import type { TaskState } from "../core/task.js";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";

/** How often {@link StoreStateSync} reads the store. */
export const STATE_SYNC_INTERVAL_MS = 250;

/**
 * Makes `orchestrator pause|resume|remove` reach a daemon running on a SQLite
 * file (which, unlike PostgreSQL, has no change notifications): reads the
 * task list from the store four times a second and, when a stored state
 * changed since the last read to something other than what the scheduler
 * holds, pauses or resumes the task here; a task gone from the store is
 * removed here. Only transitions in the store count, so the daemon's own
 * pause (memory first, then the store) is never undone.
 */
export class StoreStateSync {
  readonly #scheduler: Scheduler;
  readonly #logger: Logger;
  readonly #seen = new Map<string, TaskState>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  /** Reads failed in a row (logged when the first fails and when one succeeds again). */
  #failedReads = 0;

  constructor(scheduler: Scheduler, logger: Logger) {
    this.#scheduler = scheduler;
    this.#logger = logger;
  }

  /** Starts reading the store (its first read only notes the states). */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.#poll();
    this.#timer = setInterval(() => void this.#poll(), STATE_SYNC_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops reading the store. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Tasks seen in the store before and gone from it now were removed by
   * `orchestrator remove`: drop them here too (the daemon's own removals are
   * gone from the scheduler already, so nothing happens for those).
   */
  async #dropRemoved(present: ReadonlySet<string>): Promise<void> {
    for (const name of [...this.#seen.keys()]) {
      if (present.has(name)) continue;
      this.#seen.delete(name);
      if (this.#scheduler.getTask(name) === undefined) continue;
      await this.#scheduler.unregisterTask(name);
      safeLog(this.#logger, "info", { task: name }, "task removed (orchestrator remove)");
    }
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const records = await this.#scheduler.store.listTasks();
      await this.#dropRemoved(new Set(records.map((record) => record.name)));
      for (const record of records) {
        const before = this.#seen.get(record.name);
        this.#seen.set(record.name, record.state);
        if (before === undefined || before === record.state) continue;
        const info = this.#scheduler.getTask(record.name);
        if (info === undefined || info.state === record.state) continue;
        if (record.state === "paused" && info.state === "active") {
          await this.#scheduler.pauseTask(record.name);
          safeLog(this.#logger, "info", { task: record.name }, "task paused (orchestrator pause)");
        } else if (record.state === "active" && info.state === "paused") {
          await this.#scheduler.resumeTask(record.name);
          safeLog(
            this.#logger,
            "info",
            { task: record.name },
            "task resumed (orchestrator resume)",
          );
        }
      }
      if (this.#failedReads > 0) {
        safeLog(
          this.#logger,
          "info",
          { failedReads: this.#failedReads },
          "task states readable from the store again",
        );
      }
      this.#failedReads = 0;
    } catch (error) {
      // Once per outage: this runs four times a second.
      if (this.#failedReads++ === 0) {
        safeLog(
          this.#logger,
          "warn",
          { err: error },
          "could not read task states from the store (orchestrator pause/resume do not reach this daemon until it can)",
        );
      }
    } finally {
      this.#busy = false;
    }
  }
}
