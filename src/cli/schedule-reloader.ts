import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";
import { applySchedule, summarizeApply, type AppliedState } from "./apply-schedule.js";
import { formatScheduleError, loadScheduleFile } from "./schedule-file.js";
import type { ScheduleOwnership } from "./schedule-ownership.js";
import type { ScheduleSpec } from "./schedule-spec.js";

/**
 * Reads and validates a schedule file; logs each error as `file:line:column:
 * message` and resolves undefined when it is invalid.
 */
export async function readSchedule(
  file: string,
  logger: Logger,
  now: () => number,
): Promise<ScheduleSpec | undefined> {
  const result = await loadScheduleFile(file, { now });
  if (result.ok) return result.schedule;
  for (const error of result.errors) safeLog(logger, "error", {}, formatScheduleError(error));
  return undefined;
}

/** Options of {@link ScheduleReloader}. */
export interface ScheduleReloaderOptions {
  readonly scheduler: Scheduler;
  readonly file: string;
  readonly logger: Logger;
  /** Epoch ms, for the file's checks that cron schedules still fire. */
  readonly now: () => number;
  /**
   * Records the file in the store and decides which tasks missing from it an
   * apply may remove (only those this daemon's file added).
   */
  readonly ownership: ScheduleOwnership;
  /** Told of each valid file a reload read, before it is applied. */
  readonly onLoaded?: (schedule: ScheduleSpec) => void;
  /**
   * Quiet time after the last change event before `--watch` reloads.
   * @defaultValue 200
   */
  readonly debounceMs?: number;
}

/**
 * Reads the schedule file and applies it to the scheduler, on demand
 * (start, SIGHUP) or when the file changes (`watch()`). Reloads never
 * overlap: one asked for while another runs happens after it. An invalid
 * file is logged with `file:line:column` errors and the running schedule is
 * kept.
 */
export class ScheduleReloader {
  readonly #options: ScheduleReloaderOptions;
  readonly #state: AppliedState = new Map();
  #chain: Promise<unknown> = Promise.resolve();
  #pending: Promise<boolean> | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ScheduleReloaderOptions) {
    this.#options = options;
  }

  /** Reads the file; see {@link readSchedule}. */
  load(): Promise<ScheduleSpec | undefined> {
    return readSchedule(this.#options.file, this.#options.logger, this.#options.now);
  }

  /**
   * Applies a loaded schedule and logs a one-line summary (plus one line per
   * task that could not be registered). Resolves false when a task failed.
   */
  async apply(schedule: ScheduleSpec, reason: string): Promise<boolean> {
    const { scheduler, logger, ownership } = this.#options;
    const names = schedule.tasks.map((task) => task.name);
    const rule = await ownership.prepare(schedule.sha256, names);
    const result = await applySchedule(scheduler, schedule.tasks, this.#state, rule);
    await ownership.settle(schedule.sha256, result);
    for (const { name, error } of result.failed) {
      safeLog(
        logger,
        "error",
        { task: name, error: error instanceof Error ? error.message : String(error) },
        "task not applied",
      );
    }
    const fields: Record<string, unknown> = { file: schedule.file };
    for (const key of ["added", "changed", "removed"] as const) {
      if (result[key].length > 0) fields[key] = result[key].join(",");
    }
    safeLog(logger, "info", fields, `schedule ${reason}: ${summarizeApply(result)}`);
    return result.failed.length === 0;
  }

  /**
   * Reads and applies the file (SIGHUP, `--watch`). Resolves true when the
   * file was valid and applied. Calls made while a reload waits to start
   * share it.
   */
  reload(): Promise<boolean> {
    if (this.#pending !== undefined) return this.#pending;
    const run = this.#chain.then(async () => {
      this.#pending = undefined;
      if (this.#closed) return false;
      const schedule = await this.load();
      if (schedule === undefined) {
        safeLog(
          this.#options.logger,
          "error",
          { file: this.#options.file },
          "schedule file invalid: kept the running schedule",
        );
        return false;
      }
      this.#options.onLoaded?.(schedule);
      await this.apply(schedule, "reloaded");
      return true;
    });
    this.#pending = run;
    this.#chain = run.catch((error: unknown) => {
      safeLog(this.#options.logger, "error", { err: error }, "schedule reload failed");
    });
    return run;
  }

  /**
   * Reloads when the file changes. Watches its folder rather than the file,
   * because editors save by writing a new file and renaming it over the old.
   */
  watch(): void {
    if (this.#watcher !== undefined || this.#closed) return;
    const { file, logger } = this.#options;
    const name = basename(file);
    this.#watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        safeLog(logger, "info", { file }, "schedule file changed: reloading");
        void this.reload();
      }, this.#options.debounceMs ?? 200);
    });
    this.#watcher.on("error", (error) => {
      safeLog(logger, "error", { err: error, file }, "cannot watch the schedule file");
    });
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#chain;
  }
}
