import { safeLog, type Logger } from "../../logger.js";
import type {
  NotificationOutbox,
  OutboxEntry,
  OutboxOutcome,
} from "../../store/notification-outbox.js";
import type { Clock } from "../../time/clock.js";
import type { Redactor } from "../secret-redactor.js";
import type { TaskTargets } from "./notify-targets.js";
import { RATE_LIMIT_DEFAULTS, rateDecision, type RateLimit } from "./rate-limit.js";
import type { Senders } from "./senders.js";

/** Options of {@link NotificationDeliverer}. */
export interface DelivererOptions {
  readonly outbox: NotificationOutbox;
  readonly senders: Senders;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly redactor: Redactor;
  /** This daemon's node id: who holds a claimed row. */
  readonly nodeId: string;
  /** The current settings, by task name (they change when the schedule is reloaded). */
  readonly targets: () => ReadonlyMap<string, TaskTargets>;
  /** @defaultValue {@link RATE_LIMIT_DEFAULTS} */
  readonly rateLimit?: RateLimit;
  /** How often the outbox is looked at for rows other nodes enqueued, in ms. @defaultValue 1000 */
  readonly pollMs?: number;
  /** Delivery attempts before a row is given up (`failed`). @defaultValue 5 */
  readonly maxAttempts?: number;
  /** The first retry's delay, doubled each time, in ms. @defaultValue 2000 */
  readonly backoffMs?: number;
  /** The longest retry delay, in ms. @defaultValue 300_000 */
  readonly maxBackoffMs?: number;
}

/** A claim on a row lasts this long: a node that dies while sending leaves it to another after it. */
const LEASE_MS = 60_000;

const DAY_MS = 86_400_000;

/** How long finished rows are kept: sent and failed ones 30 days, suppressed ones a day (a flapping task makes many). */
export const OUTBOX_RETENTION = Object.freeze({
  finishedMs: 30 * DAY_MS,
  suppressedMs: DAY_MS,
  everyMs: 3_600_000,
});

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Delivers the outbox off the scheduling path: a loop that claims due rows
 * (its own tasks only), applies the rate limit, sends each through its
 * channel, and records the outcome — `sent`, a retry with exponential backoff
 * and the error, `failed` after the last attempt, or `suppressed`. Sending
 * never blocks the scheduler: it only ever reads the outbox.
 */
export class NotificationDeliverer {
  readonly #options: DelivererOptions;
  readonly #limit: RateLimit;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(options: DelivererOptions) {
    this.#options = options;
    this.#limit = options.rateLimit ?? RATE_LIMIT_DEFAULTS;
  }

  /** Starts the loop. */
  start(): void {
    this.#schedule(0);
  }

  /** Looks at the outbox now (a row was just enqueued). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) this.#again = true;
    else this.#schedule(0);
  }

  /** One pass: claims and delivers every due row. Resolves when done (also for tests). */
  async deliverDue(): Promise<void> {
    await this.#prune();
    for (;;) {
      const rows = await this.#claim();
      for (const row of rows) await this.#deliver(row);
      if (rows.length === 0 || this.#stopped) return;
    }
  }

  /** Stops the loop and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#tick(), ms);
    this.#timer.unref();
  }

  #tick(): void {
    this.#again = false;
    this.#running = this.deliverDue()
      .catch((error: unknown) => {
        safeLog(
          this.#options.logger,
          "warn",
          { err: error },
          "notifications: the outbox could not be read",
        );
      })
      .finally(() => {
        this.#running = undefined;
        this.#schedule(this.#again ? 0 : (this.#options.pollMs ?? 1000));
      });
  }

  async #prune(): Promise<void> {
    const { outbox, clock, logger } = this.#options;
    const now = clock.nowMs();
    if (now - this.#prunedAt < OUTBOX_RETENTION.everyMs) return;
    this.#prunedAt = now;
    try {
      await outbox.prune(now - OUTBOX_RETENTION.finishedMs, now - OUTBOX_RETENTION.suppressedMs);
    } catch (error) {
      safeLog(logger, "warn", { err: error }, "notifications: cannot prune the outbox");
    }
  }

  #claim(): Promise<OutboxEntry[]> {
    const { outbox, clock, nodeId, targets } = this.#options;
    return outbox.claim({
      nodeId,
      nowMs: clock.nowMs(),
      leaseMs: LEASE_MS,
      limit: 20,
      taskNames: [...targets().keys()],
    });
  }

  async #deliver(row: OutboxEntry): Promise<void> {
    const { outbox, nodeId, logger } = this.#options;
    const outcome = await this.#attempt(row);
    const fields = { task: row.taskName, event: row.kind, channel: row.channel, to: row.recipient };
    if (outcome.status === "sent") safeLog(logger, "info", fields, "notification sent");
    else if (outcome.status === "suppressed")
      safeLog(
        logger,
        "warn",
        fields,
        "notification held back by the rate limit (recorded, not sent)",
      );
    else
      safeLog(
        logger,
        "warn",
        { ...fields, error: outcome.error, attempt: row.attempts },
        outcome.status === "failed"
          ? "notification not delivered: gave up"
          : "notification not delivered: will retry",
      );
    try {
      await outbox.finish(row.id, nodeId, outcome);
    } catch (error) {
      safeLog(
        logger,
        "warn",
        { err: error, task: row.taskName },
        "notifications: cannot record a delivery",
      );
    }
  }

  async #attempt(row: OutboxEntry): Promise<OutboxOutcome> {
    const { outbox, clock, senders, redactor, targets } = this.#options;
    const target = targets().get(row.taskName);
    const channel = row.channel === "email" ? target?.email : target?.webhook;
    if (channel === undefined)
      return this.#failure(
        row,
        `the ${row.channel} settings of this task are not in force on node ${this.#options.nodeId}`,
      );
    const window = await outbox.window(
      row.taskName,
      row.channel,
      clock.nowMs() - this.#limit.windowMs,
    );
    const decision = rateDecision(window, this.#limit);
    if (decision.action === "suppress") return { status: "suppressed", atMs: clock.nowMs() };
    const text = [row.text, ...decision.notes].join("\n");
    const payload = { ...(JSON.parse(row.payload) as Record<string, unknown>), text };
    const message = { subject: row.subject, text, payload };
    try {
      if (row.channel === "email" && target?.email !== undefined)
        await senders.email(target.email, message);
      else if (target?.webhook !== undefined) await senders.webhook(target.webhook, message);
      return { status: "sent", atMs: clock.nowMs() };
    } catch (error) {
      return this.#failure(row, redactor.redact(messageOf(error)));
    }
  }

  #failure(row: OutboxEntry, error: string): OutboxOutcome {
    const { clock, maxAttempts = 5, backoffMs = 2000, maxBackoffMs = 300_000 } = this.#options;
    if (row.attempts >= maxAttempts) return { status: "failed", atMs: clock.nowMs(), error };
    const delay = Math.min(maxBackoffMs, backoffMs * 2 ** (row.attempts - 1));
    return { status: "pending", nextAttemptAt: clock.nowMs() + delay, error };
  }
}
