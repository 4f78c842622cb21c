import { InvalidArgumentError } from "../errors.js";
import type { EncryptionKeyOption } from "../crypto/keyring.js";
import type { Logger } from "../logger.js";
import type { Claim, HistoryRetention, Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { processTimeZone, resolveZone } from "../time/zone.js";

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /**
   * Where time comes from; pass a `ManualClock` in tests.
   * @defaultValue a SystemClock
   */
  clock?: Clock;
  /**
   * IANA zone cron expressions are read in, unless a task says otherwise.
   * @defaultValue the process zone
   */
  timezone?: string;
  /**
   * Pino-compatible logger for run errors and incidents.
   * @defaultValue a logger writing warnings and errors to stderr
   */
  logger?: Logger;
  /**
   * Store callback records unencrypted (durable stores mark them as such). Never changes schedule semantics.
   * @defaultValue false
   */
  testMode?: boolean;
  /**
   * This scheduler's id in claims and run history.
   * @defaultValue `hostname:pid`
   */
  nodeId?: string;
  /**
   * Where tasks, claims and history live.
   * @defaultValue a new MemoryStore
   */
  store?: Store;
  /**
   * Let the process exit while the scheduler's only timer is pending.
   * @defaultValue false
   */
  unref?: boolean;
  /**
   * Lease length of a claimed run in shared stores.
   * @defaultValue 30000
   */
  leaseMs?: number;
  /**
   * The key that seals stored callback records in production mode: 32 bytes
   * (or base64/hex of them), `{ id, key }`, a list (the first seals, all
   * open), or a Keyring. Without it, `ORCHESTRATOR_ENCRYPTION_KEY` or
   * `ORCHESTRATOR_ENCRYPTION_KEYS` is read; a durable store with no key at all
   * fails at `start()` with a message on how to generate one. The memory
   * store uses an ephemeral random key.
   * @defaultValue from the environment
   */
  encryptionKey?: EncryptionKeyOption;
  /**
   * In production mode, open callback records stored in plaintext (written in
   * test mode) and seal them, instead of quarantining their tasks.
   * @defaultValue false
   */
  migratePlaintext?: boolean;
  /**
   * Run history retention: rows older than `maxAgeMs` or beyond the newest
   * `maxRows` are deleted at start and every minute (as are rows beyond a
   * task's `keepLast`, with or without this option).
   * @defaultValue none (history is kept; the memory store keeps its last 10,000 rows)
   */
  historyRetention?: Partial<HistoryRetention>;
  /**
   * Shared stores: warn (log + `clock:skew`) when this node's clock is further
   * than this from the store's (database) clock, in ms. Measured at start and
   * every `clockSkewCheckIntervalMs`.
   * @defaultValue 1000
   */
  maxClockSkewMs?: number;
  /**
   * Shared stores: how often the clock skew is measured again, in ms (0: only at start).
   * @defaultValue 60000
   */
  clockSkewCheckIntervalMs?: number;
  /**
   * Shared stores with change notification (PostgreSQL): every task is read
   * again this often, in ms, in case a notification was missed (0: never;
   * a lost LISTEN connection always triggers a full resync).
   * @defaultValue 30000
   */
  clusterResyncIntervalMs?: number;
  /**
   * Internal: when instants are planned ahead of time (docs/internals.md).
   * `auto` plans instants of 64 due runs or more; `always` every instant,
   * also with a manual clock; `off` none. Changes timing, never outcomes:
   * the test suite runs the scheduler's behaviour in `always` and `off`.
   * @defaultValue "auto"
   * @internal
   */
  planAhead?: "auto" | "always" | "off";
  /**
   * Internal: on a shared store that keeps a membership (SQLite, PostgreSQL),
   * the nodes share the work: each claims at their instant only the runs of
   * the tasks it owns by rendezvous hashing over the live nodes, and takes
   * over the others' runs only when nobody claimed them after a short delay
   * (docs/architecture.md, "Sharing the work"). `false`: every node claims
   * every due run, as before (benchmarks compare the two).
   * @defaultValue true
   * @internal
   */
  shareWork?: boolean;
  /**
   * Internal: a one-shot process (the CLI's `trigger`, `pause`, `keys
   * rotate`): it does not take its node id for itself, reap claims or record
   * missed slots when the store opens; that is the work of the nodes.
   * @defaultValue false
   * @internal
   */
  oneShot?: boolean;
  /**
   * Internal: told the claims of runs found interrupted (a dead process's
   * runs, reaped at start or when their lease expired) before they are
   * recorded `interrupted` and retried, which wait for it; resolves with a
   * sentence per claim id to add to the run's history row. The daemon stops
   * here what a dead predecessor's commands left running (`Claim.process`).
   * @internal
   */
  beforeRecovery?: (claims: readonly Claim[]) => Promise<ReadonlyMap<string, string>>;
}

/** The defaults of {@link SchedulerOptions} that are constants. */
export const SCHEDULER_DEFAULTS = Object.freeze({
  testMode: false,
  unref: false,
  leaseMs: 30_000,
  migratePlaintext: false,
  maxClockSkewMs: 1_000,
  clockSkewCheckIntervalMs: 60_000,
  clusterResyncIntervalMs: 30_000,
  planAhead: "auto",
} satisfies Required<
  Pick<
    SchedulerOptions,
    | "testMode"
    | "unref"
    | "leaseMs"
    | "migratePlaintext"
    | "maxClockSkewMs"
    | "clockSkewCheckIntervalMs"
    | "clusterResyncIntervalMs"
    | "planAhead"
  >
>);

/** A duration option in ms from 0 up, or its default; else InvalidArgumentError. */
export function durationOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`options.${name}`, "a number of milliseconds from 0 up", value);
  }
  return value;
}

/** `historyRetention` with both bounds (an absent one is Number.MAX_SAFE_INTEGER), or undefined. */
export function resolveRetention(
  value: SchedulerOptions["historyRetention"],
): HistoryRetention | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object") {
    throw new InvalidArgumentError("options.historyRetention", "{ maxAgeMs?, maxRows? }", value);
  }
  const bound = (key: "maxAgeMs" | "maxRows"): number => {
    const n = value[key];
    if (n === undefined) return Number.MAX_SAFE_INTEGER;
    if (typeof n !== "number" || Number.isNaN(n) || n < 0) {
      throw new InvalidArgumentError(`options.historyRetention.${key}`, "a number from 0 up", n);
    }
    return n;
  };
  return { maxAgeMs: bound("maxAgeMs"), maxRows: bound("maxRows") };
}

/** The zone of this process (what cron tasks use unless told otherwise). */
export const processTimezone = processTimeZone;

/**
 * Returns `zone` if it is a valid IANA zone name, else throws InvalidArgumentError
 * naming `argument`. Uses the cron engine's zone cache, so it costs no Intl call
 * after the first task in a zone.
 */
export function checkZone(argument: string, zone: unknown): string {
  if (typeof zone !== "string" || zone === "") {
    throw new InvalidArgumentError(argument, 'an IANA time zone name such as "Europe/Paris"', zone);
  }
  resolveZone(zone, argument);
  return zone;
}
