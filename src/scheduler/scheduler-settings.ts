import { hostname } from "node:os";
import type { EncryptionKeyOption } from "../crypto/keyring.js";
import { InvalidArgumentError } from "../errors.js";
import { createStderrLogger, type Logger } from "../logger.js";
import {
  SCHEDULER_DEFAULTS,
  checkZone,
  durationOption,
  processTimezone,
  resolveRetention,
  type SchedulerOptions,
} from "./scheduler-options.js";
import { MemoryStore } from "../store/memory-store.js";
import type { HistoryRetention, Store } from "../store/store.js";
import { SystemClock, type Clock } from "../time/clock.js";
import { toMs } from "../time/duration.js";

/** {@link SchedulerOptions} once checked, with every default filled in. */
export interface SchedulerSettings {
  readonly clock: Clock;
  readonly timezone: string;
  readonly logger: Logger;
  readonly store: Store;
  readonly nodeId: string;
  readonly testMode: boolean;
  readonly leaseMs: number;
  readonly encryptionKey: EncryptionKeyOption | undefined;
  readonly migratePlaintext: boolean;
  readonly retention: HistoryRetention | undefined;
  readonly unref: boolean;
  readonly clusterResyncIntervalMs: number;
  readonly maxClockSkewMs: number;
  readonly clockSkewCheckIntervalMs: number;
  readonly planAhead: "auto" | "always" | "off";
  readonly oneShot: boolean;
  /** Share the work with the other live nodes (never for a one-shot process). */
  readonly shareWork: boolean;
  readonly beforeRecovery: SchedulerOptions["beforeRecovery"];
}

/**
 * Checks the options of a Scheduler and fills in their defaults.
 *
 * @throws InvalidArgumentError naming the first option that is not valid.
 */
export function resolveSettings(options: SchedulerOptions): SchedulerSettings {
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("options", "an object", options);
  const clock = options.clock ?? new SystemClock();
  const timezone =
    options.timezone === undefined
      ? processTimezone()
      : checkZone("options.timezone", options.timezone);
  const logger = options.logger ?? createStderrLogger();
  const store = options.store ?? new MemoryStore();
  const nodeId = options.nodeId ?? `${hostname()}:${process.pid}`;
  if (typeof nodeId !== "string" || nodeId === "") {
    throw new InvalidArgumentError("options.nodeId", "a non-empty string", options.nodeId);
  }
  if (options.testMode !== undefined && typeof options.testMode !== "boolean") {
    throw new InvalidArgumentError("options.testMode", "a boolean", options.testMode);
  }
  const leaseMs =
    options.leaseMs === undefined ? SCHEDULER_DEFAULTS.leaseMs : toMs(options.leaseMs);
  if (leaseMs === undefined || leaseMs <= 0) {
    throw new InvalidArgumentError(
      "options.leaseMs",
      "a positive whole number of milliseconds",
      options.leaseMs,
    );
  }
  if (options.migratePlaintext !== undefined && typeof options.migratePlaintext !== "boolean") {
    throw new InvalidArgumentError(
      "options.migratePlaintext",
      "a boolean",
      options.migratePlaintext,
    );
  }
  if (options.beforeRecovery !== undefined && typeof options.beforeRecovery !== "function") {
    throw new InvalidArgumentError("options.beforeRecovery", "a function", options.beforeRecovery);
  }
  const planAhead = options.planAhead ?? SCHEDULER_DEFAULTS.planAhead;
  if (planAhead !== "auto" && planAhead !== "always" && planAhead !== "off") {
    throw new InvalidArgumentError(
      "options.planAhead",
      '"auto", "always" or "off"',
      options.planAhead,
    );
  }
  if (options.shareWork !== undefined && typeof options.shareWork !== "boolean") {
    throw new InvalidArgumentError("options.shareWork", "a boolean", options.shareWork);
  }
  return {
    planAhead,
    oneShot: options.oneShot === true,
    shareWork: options.shareWork !== false && options.oneShot !== true,
    beforeRecovery: options.beforeRecovery,
    clock,
    timezone,
    logger,
    store,
    nodeId,
    testMode: options.testMode ?? SCHEDULER_DEFAULTS.testMode,
    leaseMs,
    encryptionKey: options.encryptionKey,
    migratePlaintext: options.migratePlaintext ?? SCHEDULER_DEFAULTS.migratePlaintext,
    retention: resolveRetention(options.historyRetention),
    unref: options.unref ?? SCHEDULER_DEFAULTS.unref,
    clusterResyncIntervalMs: durationOption(
      "clusterResyncIntervalMs",
      options.clusterResyncIntervalMs,
      SCHEDULER_DEFAULTS.clusterResyncIntervalMs,
    ),
    maxClockSkewMs: durationOption(
      "maxClockSkewMs",
      options.maxClockSkewMs,
      SCHEDULER_DEFAULTS.maxClockSkewMs,
    ),
    clockSkewCheckIntervalMs: durationOption(
      "clockSkewCheckIntervalMs",
      options.clockSkewCheckIntervalMs,
      SCHEDULER_DEFAULTS.clockSkewCheckIntervalMs,
    ),
  };
}
