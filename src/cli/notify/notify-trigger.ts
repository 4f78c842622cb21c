import type { EventEmitter } from "node:events";
import type { SchedulerEvents } from "../../events.js";
import { safeLog, type Logger } from "../../logger.js";
import type { RunStatus } from "../../core/task.js";
import { ActionFailedError } from "../../errors.js";
import type { Scheduler } from "../../scheduler/index.js";
import type { NotificationOutbox, OutboxMessage } from "../../store/notification-outbox.js";
import type { Clock } from "../../time/clock.js";
import { describeMs } from "../../time/duration.js";
import type { Redactor } from "../secret-redactor.js";
import { payloadOf, subjectOf, textOf, type Notice } from "./notify-message.js";
import {
  HealthTracker,
  StuckWatch,
  healthOf,
  type StuckReport,
  type TaskHealth,
} from "./notify-state.js";
import type { TaskTargets } from "./notify-targets.js";

/** Options of {@link NotificationTrigger}. */
export interface TriggerOptions {
  readonly scheduler: Scheduler;
  readonly outbox: NotificationOutbox;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly redactor: Redactor;
  readonly targets: () => ReadonlyMap<string, TaskTargets>;
  /** Called after rows were enqueued (the deliverer looks at once). */
  readonly enqueued: () => void;
  /** Timers for `stuckAfterMs`; real ones by default. */
  readonly stuckWatch?: (report: (report: StuckReport) => void) => StuckWatch;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns the scheduler's run events into outbox rows: a `failure` when a task
 * that was ok fails (its last attempt), a `recovery` when a failing task
 * succeeds again, `missed` runs, and `stuck` runs. The previous state comes
 * from the store's history, so that in a cluster the node that ran the task
 * last decides, and the outbox's unique key drops any second copy. Work is
 * chained per task, off the event's call: the scheduler never waits for it.
 */
export class NotificationTrigger {
  readonly #options: TriggerOptions;
  readonly #health = new HealthTracker();
  readonly #stuck: StuckWatch;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: TriggerOptions) {
    this.#options = options;
    const report = (stuck: StuckReport): void => this.#onStuck(stuck);
    this.#stuck = options.stuckWatch?.(report) ?? new StuckWatch(report);
    const { scheduler } = options;
    const on = <E extends keyof SchedulerEvents>(
      event: E,
      listener: (...args: SchedulerEvents[E]) => void,
    ): void => {
      const emitter = scheduler as EventEmitter<SchedulerEvents>;
      emitter.on(event, listener as never);
      this.#unsubscribe.push(() => emitter.off(event, listener as never));
    };
    // A batch's starts together, before any of them is recorded: out of the callbacks' path.
    on("runs:started", (events) => {
      for (const event of events) {
        const target = this.#target(event.taskName);
        if (target?.on.has("stuck") === true)
          this.#stuck.started(event.taskName, event.scheduledAt, target.stuckAfterMs);
      }
    });
    on("run:success", (event) => {
      this.#stuck.finished(event.taskName, event.scheduledAt);
      this.#finished(event.taskName, event.scheduledAt, "succeeded", "ran successfully again");
    });
    on("run:error", (event) => {
      this.#stuck.finished(event.taskName, event.scheduledAt);
      if (event.willRetry) return;
      const error = event.error;
      const details =
        error instanceof ActionFailedError ? (error.details as Record<string, unknown>) : {};
      const fields = {
        error: this.#options.redactor.redact(messageOf(error)),
        status: event.status,
        attempt: event.attempt,
        ...(typeof details.exitCode === "number" ? { exitCode: details.exitCode } : {}),
        ...(typeof details.status === "number" ? { httpStatus: details.status } : {}),
      };
      this.#finished(
        event.taskName,
        event.scheduledAt,
        event.status,
        `${fields.error} (attempt ${event.attempt})`,
        fields,
      );
    });
    on("run:skipped", (event) => {
      if (event.reason !== "overlap" || this.#target(event.taskName)?.on.has("stuck") !== true)
        return;
      this.#stuck.skipped(event.taskName, event.scheduledAt);
    });
    on("task:removed", (event) => this.#health.forget(event.taskName));
    on("run:missed", (event) => {
      if (this.#target(event.taskName)?.on.has("missed") !== true) return;
      const first = event.missed[0];
      if (first === undefined) return;
      this.#enqueue({
        taskName: event.taskName,
        kind: "missed",
        changeId: String(first.getTime()),
        scheduledAt: first,
        detail: `${event.count} run${event.count === 1 ? "" : "s"} missed (misfire policy ${event.policy})`,
        fields: { missed: event.count, policy: event.policy },
      });
    });
  }

  /** Unsubscribes and clears the stuck timers; waits for rows being enqueued. */
  async stop(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#stuck.stop();
    await Promise.all(this.#chains.values());
  }

  #target(taskName: string): TaskTargets | undefined {
    return this.#options.targets().get(taskName);
  }

  #finished(
    taskName: string,
    scheduledAt: Date,
    status: RunStatus,
    detail: string,
    fields?: Record<string, unknown>,
  ): void {
    const target = this.#target(taskName);
    if (target === undefined) return;
    this.#chain(taskName, async () => {
      const previous = await this.#previousHealth(taskName, scheduledAt);
      const kind = this.#health.finished(taskName, status, previous);
      if (kind === undefined || !target.on.has(kind)) return;
      await this.#write({
        taskName,
        kind,
        changeId: String(scheduledAt.getTime()),
        scheduledAt,
        detail,
        ...(fields === undefined ? {} : { fields }),
      });
    });
  }

  /**
   * The task's health before the run at `scheduledAt`, from the store's
   * history (the final attempt of the latest earlier run); undefined when the
   * history says nothing, or cannot be read (this process's view is used).
   */
  async #previousHealth(taskName: string, scheduledAt: Date): Promise<TaskHealth | undefined> {
    try {
      const rows = await this.#options.scheduler.history(taskName, { limit: 50 });
      const earlier = rows
        .filter(
          (row) => row.scheduledAt < scheduledAt.getTime() && healthOf(row.status) !== undefined,
        )
        .sort((a, b) => b.scheduledAt - a.scheduledAt || b.attempt - a.attempt);
      const last = earlier[0];
      return last === undefined ? this.#health.healthOf(taskName) : healthOf(last.status);
    } catch {
      return undefined;
    }
  }

  #onStuck(stuck: StuckReport): void {
    const detail =
      stuck.reason === "running"
        ? `a run has been going for more than ${describeMs(stuck.amount)} (stuckAfterMs)`
        : `${stuck.amount} due runs in a row were skipped because the previous run is still going`;
    this.#enqueue({
      taskName: stuck.taskName,
      kind: "stuck",
      changeId: `${stuck.reason}:${stuck.scheduledAt.getTime()}`,
      scheduledAt: stuck.scheduledAt,
      detail,
      fields: { reason: stuck.reason },
    });
  }

  #enqueue(notice: Notice): void {
    this.#chain(notice.taskName, () => this.#write(notice));
  }

  #chain(taskName: string, work: () => Promise<void>): void {
    const next = (this.#chains.get(taskName) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => {
        safeLog(
          this.#options.logger,
          "warn",
          { err: error, task: taskName },
          "notifications: cannot enqueue",
        );
      });
    this.#chains.set(taskName, next);
    void next.then(() => {
      if (this.#chains.get(taskName) === next) this.#chains.delete(taskName);
    });
  }

  /** One outbox row per channel of the task; the unique key drops what another node wrote. */
  async #write(notice: Notice): Promise<void> {
    const target = this.#target(notice.taskName);
    if (target === undefined) return;
    const { scheduler, clock, outbox } = this.#options;
    const node = scheduler.nodeId;
    const text = textOf(notice, node);
    const payload = JSON.stringify(payloadOf(notice, node, text));
    const base = {
      taskName: notice.taskName,
      kind: notice.kind,
      changeId: notice.changeId,
      subject: subjectOf(notice),
      text,
      payload,
      createdAt: clock.nowMs(),
    };
    const messages: OutboxMessage[] = [];
    if (target.email !== undefined)
      messages.push({ ...base, channel: "email", recipient: target.email.recipient });
    if (target.webhook !== undefined)
      messages.push({ ...base, channel: "webhook", recipient: target.webhook.recipient });
    if (messages.length === 0) return;
    if ((await outbox.enqueue(messages)) > 0) this.#options.enqueued();
  }
}
