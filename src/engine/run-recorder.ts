import type { Task } from "../core/task.js";
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { RunReport } from "./run.js";
import type { Claim, RunRecord, Store } from "../store/store.js";
import { progressOf } from "../durable/task-record.js";

/** What a {@link RunRecorder} needs from its Scheduler. */
export interface RunRecorderHost {
  readonly store: Store;
  readonly logger: Logger;
  readonly nodeId: string;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
  hasListeners(event: keyof SchedulerEvents): boolean;
  /** True while `task` is the registered task of its name. */
  isCurrent(task: Task): boolean;
  /**
   * Shared stores: retries the finishing write of the run holding `claim`
   * while the store is unusable and the claim is held (else it is tried once).
   */
  readonly writeGate?: <T>(call: () => Promise<T>, claim: Claim) => Promise<T>;
  /**
   * Shared stores: a run's end could not be written, even through the gate
   * (its lease was lost meanwhile): stop renewing the claim, so that the run
   * is reaped (recorded `interrupted`, retried per policy) once the store is
   * usable, exactly as if this process had died then.
   */
  abandon?(claim: Claim): void;
}

/**
 * Writes what happened to the store (history rows, released claims, task
 * progress) and reports runs that did not happen (skipped, missed). Store
 * failures become `scheduler:error` events; nothing here throws.
 */
export class RunRecorder {
  readonly #host: RunRecorderHost;

  constructor(host: RunRecorderHost) {
    this.#host = host;
  }

  /** A due run that did not start: counted, emitted, recorded. */
  skip(task: Task, scheduledAtMs: number, report: RunReport, reason: "overlap" | "claimed"): void {
    report.skipped++;
    if (this.#host.hasListeners("run:skipped")) {
      this.#host.emit("run:skipped", {
        taskName: task.name,
        scheduledAt: new Date(scheduledAtMs),
        reason,
      });
    }
    // On a shared store the node that won the claim writes the run's history; a row per losing node is noise.
    if (reason === "claimed" && this.#host.store.shared) return;
    void this.record({
      taskName: task.name,
      claimId: null,
      scheduledAt: scheduledAtMs,
      startedAt: null,
      finishedAt: null,
      status: "skipped",
      attempt: 1,
      nodeId: this.#host.nodeId,
      error: {
        message:
          reason === "overlap"
            ? "the previous run was still running"
            : "claimed by another scheduler",
      },
    });
  }

  /** Occurrences the misfire policy dropped: logged, emitted, recorded. */
  missed(task: Task, missed: readonly number[], count: number): void {
    const host = this.#host;
    safeLog(
      host.logger,
      "warn",
      { taskName: task.name, count, policy: task.options.misfire },
      "Missed runs",
    );
    host.emit("run:missed", {
      taskName: task.name,
      missed: missed.map((ms) => new Date(ms)),
      count,
      policy: task.options.misfire,
    });
    for (const scheduledAt of missed) {
      void this.record({
        taskName: task.name,
        claimId: null,
        scheduledAt,
        startedAt: null,
        finishedAt: null,
        status: "missed",
        attempt: 1,
        nodeId: host.nodeId,
        error: null,
      });
    }
  }

  /** Appends a history row. */
  async record(record: RunRecord): Promise<void> {
    try {
      await this.#host.store.recordRun(record);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "history", taskName: record.taskName });
    }
  }

  /** Appends the last history row of a claimed run and releases its claim (atomically when the store can). */
  async finish(record: RunRecord, claim: Claim): Promise<void> {
    const store = this.#host.store;
    if (store.finishRun === undefined) {
      await this.record(record);
      await this.release(claim);
      return;
    }
    try {
      await store.finishRun(record, claim);
    } catch (error) {
      let failure = error;
      const gate = this.#host.writeGate;
      if (gate !== undefined) {
        // Only a failed write goes through the gate: the common path costs nothing more.
        try {
          await gate(() => store.finishRun?.(record, claim) ?? Promise.resolve(), claim);
          return;
        } catch (again) {
          failure = again;
        }
      }
      this.#host.abandon?.(claim);
      this.#host.emit("scheduler:error", {
        error: failure,
        context: "history",
        taskName: record.taskName,
      });
    }
  }

  /** Releases a claim. */
  async release(claim: Claim): Promise<void> {
    try {
      await this.#host.store.releaseClaim(claim);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "release", taskName: claim.taskName });
    }
  }

  /** Writes the task's run-state columns (unless it was removed or replaced). */
  async persistProgress(task: Task): Promise<void> {
    if (task.removed || !this.#host.isCurrent(task)) return;
    try {
      await this.#host.store.updateTaskProgress(task.name, progressOf(task), { afterRun: true });
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "progress", taskName: task.name });
    }
  }
}

/** The `error` of a history row, from what a callback threw. */
export function errorFields(error: unknown): RunRecord["error"] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { message: String(error) };
}
