import { safeLog, type Logger } from "../logger.js";
import type { RunReport, Scheduler } from "../scheduler/index.js";
import { appendAudit, type AuditEntry, type AuditResult } from "../store/daemon-records.js";
import { actorOf, type Principal } from "./roles.js";

/** One audit row as the JSON API shows it (`at` as ISO 8601). */
export interface AuditView {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly taskName: string | null;
  readonly result: AuditResult;
  readonly detail: string | null;
}

/** Converts an audit row into its JSON view. */
export function auditView(entry: AuditEntry): AuditView {
  return {
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    action: entry.action,
    taskName: entry.taskName,
    result: entry.result,
    detail: entry.detail,
  };
}

/** The outcome of a trigger in a few words, for the audit log's `detail`. */
export function describeTriggerReport(report: RunReport): string {
  if (report.failed > 0) return "run failed";
  if (report.succeeded > 0) return "run succeeded";
  if (report.skipped > 0) return "skipped: the task was running (overlap skip)";
  return "queued behind the running run";
}

/**
 * The dashboard's side of the audit log: records what a principal did (or
 * was refused) in the scheduler's store (`store.records`), and reads it back.
 * A store without records keeps no audit; a failed write is logged and the
 * request goes on (the action has happened).
 */
export class AuditTrail {
  readonly #scheduler: Scheduler;
  readonly #logger: Logger;

  constructor(scheduler: Scheduler, logger: Logger) {
    this.#scheduler = scheduler;
    this.#logger = logger;
  }

  /** Appends one row: `principal` did `action` on `taskName`, with `result`. */
  async record(
    principal: Principal,
    action: string,
    taskName: string | null,
    result: AuditResult,
    detail: string | null = null,
  ): Promise<void> {
    await appendAudit(
      this.#scheduler.store.records,
      {
        at: this.#scheduler.clock.nowMs(),
        actor: actorOf(principal),
        action,
        taskName,
        result,
        detail,
      },
      (error) => {
        safeLog(this.#logger, "error", { err: error, action, taskName }, "Audit row lost");
      },
    );
  }

  /**
   * The newest `limit` audit rows (of one task, or of all), newest first;
   * undefined when the store keeps no audit log. A removed task's rows stay.
   */
  async list(taskName: string | undefined, limit: number): Promise<AuditView[] | undefined> {
    const records = this.#scheduler.store.records;
    if (records === undefined) return undefined;
    const entries = await records.auditLog({
      limit,
      ...(taskName === undefined ? {} : { taskName }),
    });
    return entries.map(auditView);
  }
}
