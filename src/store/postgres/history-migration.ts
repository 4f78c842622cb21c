/**
 * Migration 11: the history table `runs` becomes range-partitioned on
 * `scheduled_at`, online. A plain `runs` of any size is moved without a scan
 * under a lock that writers wait for:
 *
 * 1. {@link prepareHistoryMove}, outside the migration's transaction (nodes
 *    keep writing): a unique index on `(id, scheduled_at)` is built
 *    CONCURRENTLY, then a CHECK `scheduled_at < cut-over` is added NOT VALID
 *    (a brief lock, no scan) and validated (a scan under a lock that lets
 *    writers go on). The cut-over is the first whole hour an hour or more
 *    ahead, so no row written meanwhile breaks the CHECK.
 * 2. {@link moveHistory}, in the migration's transaction (an exclusive lock
 *    held for catalogue work only): the old table becomes `runs_legacy`, its
 *    primary key becomes `(id, scheduled_at)` on the index built in step 1, a
 *    partitioned `runs` is made like it (same columns, defaults, checks and
 *    every index, whatever earlier migrations added, so that another
 *    migration's index — a unique key for idempotent writes, say — carries
 *    over), and `runs_legacy` is attached for MINVALUE to the cut-over: the
 *    validated CHECK proves the bound, so ATTACH scans nothing, and each
 *    index of the parent adopts the matching one of `runs_legacy`. A default
 *    partition is created (the range partitions, from the cut-over on, are
 *    made by the store right after, outside the lock); the new identity
 *    continues the old one's sequence. An empty old table (a new schema) is
 *    dropped instead of attached. The summaries table and its trigger come
 *    in the same transaction.
 */
import type { PoolClient } from "pg";
import { boundaryAfter, dbNowMs } from "./history-partitions.js";
import type { QuotedSchema } from "./queries.js";
import { backfillTaskSummaries, createTaskSummaries } from "./summary-queries.js";

/** The migration's version. */
export const HISTORY_PARTITIONS_VERSION = 11;

/** How far ahead a new cut-over is (the move must be done before it). */
const CUTOVER_MARGIN_MS = 3_600_000;
/** A cut-over left by an earlier attempt is kept while at least this far ahead, else replaced. */
const CUTOVER_KEEP_MS = 600_000;
const CUTOVER_PREFIX = "runs_before_";

/** Given to the migration's steps. */
export interface HistoryMoveContext {
  readonly client: PoolClient;
  readonly s: QuotedSchema;
}

async function relkind(client: PoolClient, s: QuotedSchema, table: string): Promise<string | null> {
  const { rows } = await client.query<{ relkind: string }>(
    "select relkind::text from pg_class where oid = to_regclass($1)",
    [`${s}.${table}`],
  );
  return rows[0]?.relkind ?? null;
}

/** The cut-overs (epoch ms) of the CHECK constraints step 1 added to `runs`, with their validity. */
async function cutovers(
  client: PoolClient,
  s: QuotedSchema,
): Promise<{ name: string; ms: number; valid: boolean }[]> {
  const { rows } = await client.query<{ conname: string; convalidated: boolean }>(
    `select conname, convalidated from pg_constraint
  where conrelid = to_regclass($1) and contype = 'c' and conname like '${CUTOVER_PREFIX}%'`,
    [`${s}.runs`],
  );
  return rows.map((row) => ({
    name: row.conname,
    ms: Number(row.conname.slice(CUTOVER_PREFIX.length)) * 1000,
    valid: row.convalidated,
  }));
}

/** The statement adding the cut-over CHECK at `ms`. */
function addCutover(s: QuotedSchema, ms: number, notValid: boolean): string {
  return `alter table ${s}.runs add constraint ${CUTOVER_PREFIX}${ms / 1000}
  check (scheduled_at < '${new Date(ms).toISOString()}'::timestamptz)${notValid ? " not valid" : ""}`;
}

/**
 * Step 1, outside any transaction, while nodes keep writing (the caller holds
 * the migration's session lock). Does nothing unless `runs` is a plain table.
 * Idempotent: a cut-over left by an earlier attempt is reused while it is an
 * hour or more ahead, and dropped otherwise.
 */
export async function prepareHistoryMove(context: HistoryMoveContext): Promise<void> {
  const { client, s } = context;
  if ((await relkind(client, s, "runs")) !== "r") return;
  // The index first: it may take long, and nothing is refused meanwhile.
  const index = await client.query<{ valid: boolean }>(
    "select indisvalid as valid from pg_index where indexrelid = to_regclass($1)",
    [`${s}.runs_id_scheduled_key`],
  );
  if (index.rows[0]?.valid === false)
    await client.query(`drop index concurrently ${s}.runs_id_scheduled_key`);
  if (index.rows[0]?.valid !== true)
    await client.query(
      `create unique index concurrently runs_id_scheduled_key on ${s}.runs (id, scheduled_at)`,
    );
  const nowMs = await dbNowMs(client);
  let cutover: { name: string; ms: number } | undefined;
  for (const found of await cutovers(client, s)) {
    if (found.ms >= nowMs + CUTOVER_KEEP_MS && cutover === undefined) cutover = found;
    else await briefly(client, `alter table ${s}.runs drop constraint ${found.name}`);
  }
  if (cutover === undefined) {
    const ms = cutoverAfter(nowMs);
    await briefly(client, addCutover(s, ms, true));
    cutover = { name: `${CUTOVER_PREFIX}${ms / 1000}`, ms };
  }
  // A scan under SHARE UPDATE EXCLUSIVE: writers go on.
  await client.query(`alter table ${s}.runs validate constraint ${cutover.name}`);
}

/**
 * Runs an ALTER TABLE that takes an exclusive lock for an instant, waiting at
 * most 10 s for it: writers queue behind a waiting lock, so it must not wait long.
 */
async function briefly(client: PoolClient, sql: string): Promise<void> {
  await client.query("begin");
  try {
    await client.query("set local lock_timeout = '10s'");
    await client.query(sql);
    await client.query("commit");
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}

/** Drops what step 1 added, after a failed migration: a CHECK left behind would refuse rows once its cut-over passed. */
export async function undoHistoryMove(context: HistoryMoveContext): Promise<void> {
  const { client, s } = context;
  if ((await relkind(client, s, "runs")) !== "r") return;
  for (const found of await cutovers(client, s))
    await briefly(client, `alter table ${s}.runs drop constraint if exists ${found.name}`);
}

/**
 * The cut-over for a move starting at `nowMs`: the first whole hour at least
 * {@link CUTOVER_MARGIN_MS} ahead (the CHECK refuses rows scheduled from it on
 * until the move is done). Rows scheduled before it go to `runs_legacy`; the
 * first new partition runs from it to the next partition boundary.
 */
function cutoverAfter(nowMs: number): number {
  return boundaryAfter(nowMs + CUTOVER_MARGIN_MS - 1, 3_600_000);
}

function legacyName(name: string): string {
  return name.startsWith("runs_") ? `runs_legacy_${name.slice(5)}` : `${name}_legacy`;
}

/** Step 2, in the migration's transaction. */
export async function moveHistory(context: HistoryMoveContext): Promise<void> {
  const { client, s } = context;
  const nowMs = await dbNowMs(client);
  const found = await cutovers(client, s);
  let cutover = found.find((one) => one.valid && one.ms > nowMs);
  for (const other of found)
    if (other !== cutover)
      await client.query(`alter table ${s}.runs drop constraint ${other.name}`);
  if (cutover === undefined) {
    // Not prepared (a new schema, migrated from 1 in this transaction): a small table, checked here.
    const ms = cutoverAfter(nowMs);
    await client.query(addCutover(s, ms, false));
    cutover = { name: `${CUTOVER_PREFIX}${ms / 1000}`, ms, valid: true };
  }
  if ((await relkind(client, s, "runs_id_scheduled_key")) === null)
    await client.query(`create unique index runs_id_scheduled_key on ${s}.runs (id, scheduled_at)`);
  await client.query(`lock table ${s}.runs in access exclusive mode`);
  const indexes = await client.query<{ name: string; def: string; primary: boolean }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as def, i.indisprimary as primary
  from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = to_regclass($1)`,
    [`${s}.runs`],
  );
  const sequence = await client.query<{ seq: string }>(
    "select pg_get_serial_sequence($1, 'id') as seq",
    [`${s}.runs`],
  );
  const seq = sequence.rows[0]?.seq as string;
  const last = await client.query<{ next: string }>(
    `select (case when is_called then last_value + 1 else last_value end)::text as next from ${seq}`,
  );
  const empty = await client.query(`select 1 from ${s}.runs limit 1`);

  await client.query(`alter table ${s}.runs rename to runs_legacy`);
  await client.query(`alter sequence ${seq} rename to runs_legacy_id_seq`);
  for (const index of indexes.rows)
    await client.query(`alter index ${s}.${index.name} rename to ${legacyName(index.name)}`);
  const oldKey = indexes.rows.find((index) => index.primary);
  if (oldKey !== undefined)
    await client.query(`alter table ${s}.runs_legacy drop constraint ${legacyName(oldKey.name)}`);
  await client.query(
    `alter table ${s}.runs_legacy add constraint runs_legacy_pkey primary key using index ${legacyName("runs_id_scheduled_key")}`,
  );

  await client.query(`create table ${s}.runs (like ${s}.runs_legacy
  including defaults including constraints including identity including storage including comments)
  partition by range (scheduled_at)`);
  await client.query(`alter table ${s}.runs drop constraint ${cutover.name}`);
  await client.query(
    `alter table ${s}.runs add constraint runs_pkey primary key (id, scheduled_at)`,
  );
  for (const index of indexes.rows) {
    if (index.primary || index.name === "runs_id_scheduled_key") continue;
    await client.query(index.def);
  }
  await client.query(
    `alter table ${s}.runs alter column id restart with ${last.rows[0]?.next ?? 1}`,
  );
  await client.query(`create table ${s}.runs_default partition of ${s}.runs default`);
  if (empty.rowCount === 0) {
    await client.query(`drop table ${s}.runs_legacy`);
  } else {
    await client.query(`alter table ${s}.runs attach partition ${s}.runs_legacy
  for values from (minvalue) to ('${new Date(cutover.ms).toISOString()}')`);
  }
  // The range partitions are made by the store right after the migration
  // (`createPartitionsAhead`), outside this lock: until then rows go to
  // `runs_legacy` (before the cut-over, an hour ahead) or `runs_default`.
  await client.query(createTaskSummaries(s));
  await client.query(backfillTaskSummaries(s));
}
