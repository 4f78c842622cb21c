import { safeLog, type Logger } from "../../logger.js";
import type { Scheduler } from "../../scheduler/index.js";
import type { Store } from "../../store/store.js";
import type { Clock } from "../../time/clock.js";
import type { SecretRedactor } from "../secret-redactor.js";
import type { ScheduleSpec } from "../schedule-spec.js";
import { NotificationDeliverer, type DelivererOptions } from "./deliverer.js";
import { NotificationTrigger } from "./notify-trigger.js";
import { resolveTargets, type TaskTargets } from "./notify-targets.js";
import { createSenders, type Senders } from "./senders.js";

/** What {@link startNotifications} needs from the daemon. */
export interface NotificationsOptions {
  readonly scheduler: Scheduler;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly redactor: SecretRedactor;
  /** Email and webhook senders; the real ones by default. */
  readonly senders?: Senders;
  /** Deliverer tuning (tests). */
  readonly delivery?: Pick<DelivererOptions, "pollMs" | "rateLimit" | "backoffMs" | "maxAttempts">;
}

/** The daemon's notifications: settings from each schedule applied, stopped with the daemon. */
export interface Notifications {
  /** Takes the `notify` settings of a schedule (at start and on each reload). */
  configure(schedule: ScheduleSpec): void;
  /** Stops noticing and delivering; waits for the delivery in progress. */
  stop(): Promise<void>;
}

/**
 * Starts the daemon's notifications: a {@link NotificationTrigger} that
 * enqueues failures, recoveries, missed and stuck runs in the store's outbox,
 * and a {@link NotificationDeliverer} that sends them. A store with no outbox
 * gets none (logged once a schedule asks for them).
 */
export function startNotifications(options: NotificationsOptions): Notifications {
  const { scheduler, store, clock, logger, env, redactor } = options;
  let targets: ReadonlyMap<string, TaskTargets> = new Map();
  const outbox = store.notifications;
  if (outbox === undefined) {
    return {
      configure(schedule) {
        if (schedule.tasks.some((task) => task.notify !== undefined))
          safeLog(
            logger,
            "warn",
            {},
            `notify: the ${store.kind} store keeps no outbox; no notification is sent`,
          );
      },
      stop: () => Promise.resolve(),
    };
  }
  const senders = options.senders ?? createSenders();
  const deliverer = new NotificationDeliverer({
    outbox,
    senders,
    clock,
    logger,
    redactor,
    nodeId: scheduler.nodeId,
    targets: () => targets,
    ...options.delivery,
  });
  const trigger = new NotificationTrigger({
    scheduler,
    outbox,
    clock,
    logger,
    redactor,
    targets: () => targets,
    enqueued: () => deliverer.wake(),
  });
  deliverer.start();
  return {
    configure(schedule) {
      const resolved = resolveTargets(schedule, env, redactor);
      for (const problem of resolved.problems)
        safeLog(
          logger,
          "warn",
          { task: problem.taskName, channel: problem.channel },
          `notify: ${problem.message}`,
        );
      targets = resolved.targets;
      deliverer.wake();
    },
    async stop() {
      await trigger.stop();
      await deliverer.stop();
      senders.close();
    },
  };
}
