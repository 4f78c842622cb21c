import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";
import type { ScheduleOwnership } from "./schedule-ownership.js";
import { applySchedule, summarizeApply, type AppliedState } from "./apply-schedule.js";
import { loadScheduleOffThread } from "./load-schedule-off-thread.js";
import { formatScheduleError, formatScheduleWarning } from "./schedule-file.js";
import type { ScheduleSpec } from "./schedule-spec.js";

/** The names of the variables set in `env`, for the `${NAME}` warnings. */
function namesSet(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env).filter((name) => env[name] !== undefined);
}

/**
 * Reads and validates a schedule file off the main thread (everything
 * `validate` checks); logs each warning and error as `file:line:column:
 * message` and resolves undefined when it is invalid.
 *
 * @param env - the daemon's environment: `${NAME}` references to variables
 *   not set in it are warned about.
 */
export async function readSchedule(
  file: string,
  logger: Logger,
  now: () => number,
  env?: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<ScheduleSpec | undefined> {
  const result = await loadScheduleOffThread(file, {
    nowMs: now(),
    ...(env === undefined ? {} : { envNames: namesSet(env) }),
    ...(signal === undefined ? {} : { signal }),
  });
  for (const warning of result.warnings)
    safeLog(logger, "warn", {}, formatScheduleWarning(warning));
  if (result.ok) return result.schedule;
  for (const error of result.errors) safeLog(logger, "error", {}, formatScheduleError(error));
  return undefined;
}

/** What {@link ScheduleReloader.apply} did: all of it, all but some tasks, or nothing. */
export type ApplyOutcome = "applied" | "partial" | "refused";

/** Options of {@link ScheduleReloader}. */
export interface ScheduleReloaderOptions {
  readonly scheduler: Scheduler;
  readonly file: string;
  readonly logger: Logger;
  /** Epoch ms, for the file's checks of what has passed and what still fires. */
  readonly now: () => number;
  /** The daemon's environment, for the warnings about `${NAME}` references not set. */
  readonly env?: Readonly<Record<string, string | undefined>>;
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads the schedule file and applies it to the scheduler, on demand
 * (start, SIGHUP) or when the file changes (`watch()`). Reloads never
 * overlap: one asked for while another runs happens after it. The file is
 * read and checked in a worker thread, so the scheduler keeps running during
 * a reload. A file with any error is not applied at all: its errors are
 * logged as `file:line:column: message` and the running schedule is kept.
 */
export class ScheduleReloader {
  readonly #options: ScheduleReloaderOptions;
  readonly #state: AppliedState = new Map();
  readonly #closing = new AbortController();
  #chain: Promise<unknown> = Promise.resolve();
  #pending: Promise<boolean> | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ScheduleReloaderOptions) {
    this.#options = options;
  }

  /** Reads the file; see {@link readSchedule}. Resolves undefined at once when closed. */
  load(): Promise<ScheduleSpec | undefined> {
    const { file, logger, now, env } = this.#options;
    return readSchedule(file, logger, now, env, this.#closing.signal);
  }

  /**
   * Applies a loaded schedule (see `applySchedule`: all or nothing as far as
   * the scheduler allows) and logs a one-line summary. Each task the
   * scheduler refused, or could not store, is logged as an error with its
   * `file:line:column`.
   */
  async apply(schedule: ScheduleSpec, reason: string): Promise<ApplyOutcome> {
    const { scheduler, logger, ownership } = this.#options;
    const names = schedule.tasks.map((task) => task.name);
    const rule = await ownership.prepare(schedule.sha256, names);
    const result = await applySchedule(scheduler, schedule.tasks, this.#state, rule);
    await ownership.settle(schedule.sha256, result);
    for (const { name, error, position } of result.failed) {
      const where =
        position === undefined ? "" : `${schedule.file}:${position.line}:${position.column}: `;
      safeLog(
        logger,
        "error",
        { task: name },
        `${where}task ${JSON.stringify(name)} ${result.refused ? "refused" : "not applied"}: ${messageOf(error)}`,
      );
    }
    if (result.refused) {
      safeLog(
        logger,
        "error",
        { file: schedule.file },
        `schedule not ${reason}: the scheduler refused ${result.failed.length} task${result.failed.length === 1 ? "" : "s"}, so nothing was changed`,
      );
      return "refused";
    }
    const fields: Record<string, unknown> = { file: schedule.file };
    for (const key of ["added", "changed", "removed"] as const) {
      if (result[key].length > 0) fields[key] = result[key].join(",");
    }
    safeLog(logger, "info", fields, `schedule ${reason}: ${summarizeApply(result)}`);
    return result.failed.length === 0 ? "applied" : "partial";
  }

  /**
   * Reads and applies the file (SIGHUP, `--watch`). Resolves true when the
   * file was valid and applied (perhaps but a task the store failed). Calls made while a reload waits to start
   * share it.
   */
  reload(): Promise<boolean> {
    if (this.#pending !== undefined) return this.#pending;
    const run = this.#chain.then(async () => {
      this.#pending = undefined;
      if (this.#closed) return false;
      const schedule = await this.load();
      if (this.#closed) return false;
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
      return (await this.apply(schedule, "reloaded")) !== "refused";
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

  /** Stops watching, cancels the check of a reload in progress and waits for it. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#chain;
  }
}
