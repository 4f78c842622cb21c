/**
 * The PostgreSQL history (`runs`) is range-partitioned on `scheduled_at`
 * (migration 11): one partition per `historyPartitionHours` (aligned on UTC
 * multiples of it), `runs_legacy` holding the history from before migration
 * 12 (MINVALUE to the cut-over), and `runs_default` catching a row no range
 * covers (a run scheduled before the oldest partition kept, or past the newest
 * created). This module creates partitions ahead of time and drops those that
 * retention has wholly passed.
 */
import type { PoolClient } from "pg";
import { InvalidArgumentError } from "../../errors.js";
import type { QuotedSchema } from "./queries.js";

/** Partition length by default, in hours: one partition a day. */
export const DEFAULT_HISTORY_PARTITION_HOURS = 24;

/** Partitions are created so that they cover at least this far past now (and two partitions), in ms. */
export const PARTITIONS_AHEAD_MS = 24 * 3_600_000;

/** How long dropping a partition waits for its lock on `runs` before it gives up until the next round. */
export const DROP_LOCK_TIMEOUT = "1s";

const HOUR_MS = 3_600_000;

/** One partition of `runs` (bounds in epoch ms; null for MINVALUE, or both null for the default partition). */
export interface HistoryPartition {
  readonly name: string;
  readonly fromMs: number | null;
  readonly toMs: number | null;
  readonly isDefault: boolean;
  /** The planner's estimate of its rows (0 before it was first analysed). */
  readonly rows: number;
}

/** The first multiple of `sizeMs` (from the epoch) strictly after `ms`. */
export function boundaryAfter(ms: number, sizeMs: number): number {
  return (Math.floor(ms / sizeMs) + 1) * sizeMs;
}

/** The name of the partition starting at `fromMs`: `runs_pYYYYMMDDHH` (UTC). */
export function partitionName(fromMs: number): string {
  const iso = new Date(fromMs).toISOString();
  return `runs_p${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}`;
}

/** The longest history partition: a leap year, in hours. */
export const MAX_HISTORY_PARTITION_HOURS = 8784;

/** True when `hours` is a valid `historyPartitionHours`: a whole number from 1 to {@link MAX_HISTORY_PARTITION_HOURS}. */
export function isHistoryPartitionHours(hours: number): boolean {
  return Number.isInteger(hours) && hours >= 1 && hours <= MAX_HISTORY_PARTITION_HOURS;
}

/** `historyPartitionHours`, checked (see {@link isHistoryPartitionHours}). */
export function historyPartitionHours(hours: number | undefined): number {
  if (hours === undefined) return DEFAULT_HISTORY_PARTITION_HOURS;
  if (!isHistoryPartitionHours(hours))
    throw new InvalidArgumentError(
      "options.historyPartitionHours",
      `a whole number of hours from 1 to ${MAX_HISTORY_PARTITION_HOURS}`,
      hours,
    );
  return hours;
}

/** `historyPartitionHours` in ms. */
export function partitionSizeMs(hours: number): number {
  return hours * HOUR_MS;
}

/** The database clock, epoch ms. */
export async function dbNowMs(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ ms: string }>(
    "select (extract(epoch from clock_timestamp()) * 1000)::float8::text as ms",
  );
  return Number(rows[0]?.ms);
}

/** The partitions of `runs` (none when it is not partitioned). */
export async function listHistoryPartitions(
  client: PoolClient,
  s: QuotedSchema,
): Promise<HistoryPartition[]> {
  const { rows } = await client.query<{
    name: string;
    from_ms: string | null;
    to_ms: string | null;
    is_default: boolean;
    rows: string;
  }>(
    `select c.relname as name,
  (extract(epoch from (regexp_match(b.bound, 'FROM \\(''([^'']*)''\\)'))[1]::timestamptz) * 1000)::float8::text as from_ms,
  (extract(epoch from (regexp_match(b.bound, 'TO \\(''([^'']*)''\\)'))[1]::timestamptz) * 1000)::float8::text as to_ms,
  b.bound = 'DEFAULT' as is_default,
  greatest(c.reltuples, 0)::bigint::text as rows
from pg_inherits i
join pg_class c on c.oid = i.inhrelid
cross join lateral (select pg_get_expr(c.relpartbound, c.oid) as bound) b
where i.inhparent = to_regclass($1)`,
    [`${s}.runs`],
  );
  const found = rows.map((row) => ({
    name: row.name,
    fromMs: row.from_ms === null ? null : Number(row.from_ms),
    toMs: row.to_ms === null ? null : Number(row.to_ms),
    isDefault: row.is_default,
    rows: Number(row.rows),
  }));
  // Oldest first: MINVALUE, then by start; the default partition last.
  const rank = (p: HistoryPartition) =>
    p.isDefault ? Number.POSITIVE_INFINITY : (p.fromMs ?? Number.NEGATIVE_INFINITY);
  return found.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

/**
 * Creates the range partitions missing between the end of the newest one (or
 * `startMs` when there is none) and `untilMs`, each ending on a multiple of
 * `sizeMs`. Runs in the caller's transaction, which it serialises with other
 * nodes doing the same (a transaction-scoped advisory lock). Returns the names created.
 */
export async function createPartitionsThrough(
  client: PoolClient,
  s: QuotedSchema,
  options: { readonly sizeMs: number; readonly startMs: number; readonly untilMs: number },
): Promise<string[]> {
  await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [
    `orchestrator.partitions.${s}`,
  ]);
  const partitions = await listHistoryPartitions(client, s);
  let fromMs = options.startMs;
  for (const partition of partitions) {
    if (partition.toMs !== null && partition.toMs > fromMs) fromMs = partition.toMs;
  }
  const created: string[] = [];
  while (fromMs < options.untilMs) {
    const toMs = boundaryAfter(fromMs, options.sizeMs);
    const name = partitionName(fromMs);
    await createPartition(client, s, name, fromMs, toMs);
    created.push(name);
    fromMs = toMs;
  }
  return created;
}

/**
 * Creates partition `name` for [fromMs, toMs). Rows of that range already in
 * `runs_default` (written while maintenance lagged) would make PostgreSQL
 * refuse it: they are moved into the new table before it is attached.
 */
async function createPartition(
  client: PoolClient,
  s: QuotedSchema,
  name: string,
  fromMs: number,
  toMs: number,
): Promise<void> {
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  const range = `scheduled_at >= '${from}' and scheduled_at < '${to}'`;
  const stray =
    (await listHistoryPartitions(client, s)).some((p) => p.name === "runs_default") &&
    (await client.query(`select 1 from ${s}.runs_default where ${range} limit 1`)).rowCount !== 0;
  if (!stray) {
    await client.query(
      `create table ${s}.${name} partition of ${s}.runs for values from ('${from}') to ('${to}')`,
    );
    return;
  }
  await client.query(`create table ${s}.${name}
  (like ${s}.runs including defaults including constraints including storage)`);
  await client.query(`with moved as (delete from ${s}.runs_default where ${range} returning *)
  insert into ${s}.${name} select * from moved`);
  await client.query(
    `alter table ${s}.runs attach partition ${s}.${name} for values from ('${from}') to ('${to}')`,
  );
}

/**
 * Creates, in a transaction of its own, the partitions that cover the history
 * through {@link PARTITIONS_AHEAD_MS} (and at least two partitions) past the
 * database's now. Returns the names created.
 */
export async function createPartitionsAhead(
  client: PoolClient,
  s: QuotedSchema,
  sizeMs: number,
): Promise<string[]> {
  await client.query("begin");
  try {
    const nowMs = await dbNowMs(client);
    const created = await createPartitionsThrough(client, s, {
      sizeMs,
      startMs: Math.floor(nowMs / sizeMs) * sizeMs,
      untilMs: nowMs + Math.max(PARTITIONS_AHEAD_MS, 2 * sizeMs),
    });
    await client.query("commit");
    return created;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}

/**
 * Drops the partitions whose every row is older than `maxAgeMs` by the
 * retention's measure (`coalesce(finished_at, scheduled_at)`, DB clock): a
 * partition ending before the cut-off whose index on that age finds no
 * younger row (a run that finished long after its instant keeps it). Each
 * drop waits at most {@link DROP_LOCK_TIMEOUT} for its lock on `runs` (a long
 * read holds it) and is retried at the next round otherwise. Returns the
 * planner's estimate of the rows dropped.
 */
export async function dropExpiredPartitions(
  client: PoolClient,
  s: QuotedSchema,
  maxAgeMs: number,
): Promise<{ dropped: string[]; rows: number }> {
  const partitions = await listHistoryPartitions(client, s);
  const cutoffMs = (await dbNowMs(client)) - maxAgeMs;
  const dropped: string[] = [];
  let rows = 0;
  for (const partition of partitions) {
    if (partition.isDefault || partition.toMs === null || partition.toMs > cutoffMs) continue;
    const younger = await client.query(
      `select 1 from ${s}.${partition.name}
  where coalesce(finished_at, scheduled_at) >= to_timestamp($1::float8 / 1000) limit 1`,
      [cutoffMs],
    );
    if (younger.rowCount !== 0) continue;
    await client.query("begin");
    try {
      await client.query(`set local lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      await client.query(`drop table ${s}.${partition.name}`);
      await client.query("commit");
      dropped.push(partition.name);
      rows += partition.rows;
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      if ((error as { code?: string }).code !== "55P03") throw error;
    }
  }
  return { dropped, rows };
}
