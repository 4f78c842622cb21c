/** Options and option types of the PostgreSQL store. */
import type { Pool } from "pg";
import { InvalidArgumentError } from "../../errors.js";
import type { ClaimRequest } from "../store.js";

/** Options of {@link PostgresStore}. Give `connectionString` or `pool`. */
export interface PostgresStoreOptions {
  /** A libpq connection URI, e.g. `postgres://user@host:5432/db`. The store then owns (and ends) its pool. */
  readonly connectionString?: string;
  /** An existing pool to use instead (the store never ends it). */
  readonly pool?: Pool;
  /**
   * Schema holding the store's tables (created if missing). Letters, digits and
   * underscores, at most 48 characters.
   * @defaultValue "orchestrator"
   */
  readonly schema?: string;
  /**
   * Lease length of claims whose request gives none, in ms.
   * @defaultValue 30000
   */
  readonly leaseMs?: number;
  /**
   * Connections of the pool the store creates from `connectionString` (one more is taken while watching).
   * @defaultValue 10
   */
  readonly maxConnections?: number;
  /**
   * How long released claims are kept before {@link PostgresStore.pruneHistory} forgets them, in ms
   * (their keys stay unclaimable through the per-task release mark).
   * @defaultValue 3600000
   */
  readonly claimRetentionMs?: number;
  /**
   * Length of one partition of the run history, in hours (UTC-aligned):
   * retention drops whole partitions, so a partition is the unit of
   * retention's precision and of its cost (see docs/guides/clusters.md).
   * Changing it takes effect for partitions created afterwards.
   * @defaultValue 24
   */
  readonly historyPartitionHours?: number;
  /** Told about background trouble: the LISTEN connection lost, an idle connection dropped. Must not throw. */
  readonly onError?: (error: unknown, context: "notifier" | "pool") => void;
  /**
   * Told each time the `watch` subscription is made, `resubscribed` true after a
   * lost connection: changes made meanwhile were not delivered, so reload every
   * task then. Must not throw.
   */
  readonly onListening?: (resubscribed: boolean) => void;
}

/** The defaults of {@link PostgresStoreOptions}. */
export const POSTGRES_STORE_DEFAULTS = Object.freeze({
  schema: "orchestrator",
  leaseMs: 30_000,
  maxConnections: 10,
  claimRetentionMs: 3_600_000,
} satisfies Required<
  Pick<PostgresStoreOptions, "schema" | "leaseMs" | "maxConnections" | "claimRetentionMs">
>);

/** A claim request, plus what only this store knows yet (proposed for {@link ClaimRequest}). */
export interface PostgresClaimRequest extends ClaimRequest {
  /**
   * Refuse the claim while any other exclusive claim of the task is unreleased
   * (even expired but not yet reaped): overlap "skip" across the cluster, so
   * that no two nodes run the task at once.
   * @defaultValue false
   */
  readonly exclusive?: boolean;
}

/** Result of {@link PostgresStore.measureClockSkew}. */
export interface ClockSkew {
  /** Database clock minus this node's clock, in ms (positive: the node is behind). */
  readonly skewMs: number;
  /** Round trip of the best sample, in ms: the skew is known to ± half of it. */
  readonly roundTripMs: number;
}

/** `value` if it is a positive number, `fallback` when undefined; else InvalidArgumentError naming `name`. */
export function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(name, "a positive number", value);
  }
  return value;
}
