/**
 * Versioned migrations of the PostgreSQL store, embedded as SQL text (no files
 * read at runtime). {@link migrate} applies the missing ones in one transaction
 * under a transaction-scoped advisory lock keyed on the schema, so that ten
 * nodes starting at once migrate exactly once: the first takes the lock and
 * migrates, the others wait for it, then find nothing left to do.
 */
import type { PoolClient } from "pg";
import type { QuotedSchema } from "./queries.js";
import { StoreError } from "../../errors.js";
import {
  HISTORY_PARTITIONS_VERSION,
  moveHistory,
  prepareHistoryMove,
  undoHistoryMove,
  type HistoryMoveContext,
} from "./history-migration.js";

/** One migration: applied once, in version order, never edited after release. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, given the quoted schema. */
  readonly sql: (schema: QuotedSchema) => string;
  /** Work done by code after `sql`, in the migration's transaction. */
  readonly apply?: (context: HistoryMoveContext) => Promise<void>;
  /** Work done before the transaction, while nodes keep writing (online steps). */
  readonly prepare?: (context: HistoryMoveContext) => Promise<void>;
  /** Undoes `prepare` when the migration failed. */
  readonly undo?: (context: HistoryMoveContext) => Promise<void>;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Stop at this version (tests of a migration). @defaultValue LATEST_VERSION */
  readonly through?: number;
}

/** Every migration, oldest first. Append only. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: "tasks, claims, claim marks, run history",
    sql: (s: QuotedSchema) => `
create table ${s}.tasks (
  name text primary key,
  schedule json not null,
  options json not null,
  callback_encoding text not null check (callback_encoding in ('plain', 'sealed')),
  callback_key_id text,
  callback_bytes bytea,
  callback_plain json,
  state text not null,
  next_run_at timestamptz,
  last_run_at timestamptz,
  last_status text,
  run_count integer not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  version bigint not null default 1,
  constraint tasks_callback_check check (
    (callback_encoding = 'sealed' and callback_bytes is not null and callback_key_id is not null)
    or (callback_encoding = 'plain' and callback_plain is not null))
);
create index tasks_next_run_at_idx on ${s}.tasks (next_run_at) where state = 'active';

create table ${s}.claims (
  id text primary key,
  task_name text not null,
  scheduled_at timestamptz not null,
  manual boolean not null default false,
  node_id text not null,
  claimed_at timestamptz not null,
  lease_expires_at timestamptz,
  released_at timestamptz,
  reaped boolean not null default false,
  exclusive boolean not null default false
);
create unique index claims_task_scheduled_key on ${s}.claims (task_name, scheduled_at) where not manual;
create unique index claims_exclusive_held_key on ${s}.claims (task_name) where exclusive and released_at is null;
create index claims_held_lease_idx on ${s}.claims (lease_expires_at) where released_at is null;
create index claims_released_at_idx on ${s}.claims (released_at) where released_at is not null;

create table ${s}.claim_marks (
  task_name text primary key,
  released_through timestamptz not null
);

create table ${s}.runs (
  id bigint generated always as identity primary key,
  task_name text not null,
  claim_id text,
  scheduled_at timestamptz not null,
  started_at timestamptz,
  finished_at timestamptz,
  status text not null
    check (status in ('succeeded', 'failed', 'timed-out', 'skipped', 'missed', 'interrupted')),
  attempt integer not null,
  node_id text not null,
  error_message text,
  error_stack text,
  error_code text,
  recorded_at timestamptz not null default clock_timestamp()
);
create index runs_task_name_id_idx on ${s}.runs (task_name, id desc);
create index runs_age_idx on ${s}.runs ((coalesce(finished_at, scheduled_at)));
`,
  },
  {
    version: 2,
    name: "run output",
    // json, not jsonb: the text comes back exactly as written (key order kept).
    sql: (s: QuotedSchema) => `alter table ${s}.runs add column output json;`,
  },
  {
    version: 3,
    name: "audit log, schedule files, task origins",
    sql: (s: QuotedSchema) => `
create table ${s}.audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null,
  actor text not null,
  action text not null,
  task_name text,
  result text not null check (result in ('ok', 'failed', 'refused')),
  detail text
);
create index audit_log_task_name_id_idx on ${s}.audit_log (task_name, id desc);
create index audit_log_at_idx on ${s}.audit_log (at);

create table ${s}.schedule_files (
  source text primary key,
  node_id text not null,
  path text not null,
  sha256 text not null,
  applied_at timestamptz not null,
  seen_at timestamptz not null,
  stopped_at timestamptz
);

create table ${s}.task_origins (
  task_name text primary key,
  source text not null,
  node_id text not null,
  path text not null,
  sha256 text not null,
  task_created_at timestamptz not null,
  recorded_at timestamptz not null
);
`,
  },
  {
    version: 4,
    name: "fencing tokens, task runners, lost and summarised missed runs",
    sql: (s: QuotedSchema) => `
create sequence ${s}.claim_tokens;
alter table ${s}.claims add column token bigint not null default nextval('${s}.claim_tokens');

-- The exclusive claim of each task that holds one (overlap "skip" across nodes). A
-- table of its own, not a unique index on claims: a claim that finds the task held
-- still wins its run's slot (and records the run skipped) instead of vanishing in a
-- conflict on the wrong index.
create table ${s}.task_runners (
  task_name text primary key,
  claim_id text not null
);
insert into ${s}.task_runners (task_name, claim_id)
  select task_name, id from ${s}.claims where exclusive and released_at is null
  on conflict (task_name) do nothing;
drop index ${s}.claims_exclusive_held_key;

alter table ${s}.runs drop constraint runs_status_check;
alter table ${s}.runs add constraint runs_status_check check (status in
  ('succeeded', 'failed', 'timed-out', 'skipped', 'missed', 'interrupted', 'lost', 'cancelled'));
alter table ${s}.runs add column missed_through timestamptz;
alter table ${s}.runs add column missed_count integer;
`,
  },
  {
    version: 5,
    name: "the process group of a claim's attempt",
    // Set by recordProcess while the attempt runs, so that a restarted daemon can stop it.
    sql: (s: QuotedSchema) => `
alter table ${s}.claims add column process_group integer;
alter table ${s}.claims add column process_start text;
`,
  },
  {
    version: 6,
    name: "notification outbox",
    sql: (s: QuotedSchema) => `
-- One row per message and channel; the unique key makes each change of state
-- enqueued once, however many nodes saw it.
create table ${s}.notification_outbox (
  id bigint generated always as identity primary key,
  task_name text not null,
  kind text not null check (kind in ('failure', 'recovery', 'missed', 'stuck')),
  change_id text not null,
  channel text not null check (channel in ('email', 'webhook')),
  recipient text not null,
  subject text not null,
  text text not null,
  payload text not null,
  status text not null check (status in ('pending', 'sending', 'sent', 'failed', 'suppressed')),
  attempts integer not null,
  created_at timestamptz not null,
  next_attempt_at timestamptz not null,
  claimed_by text,
  lease_until timestamptz,
  finished_at timestamptz,
  last_error text,
  unique (task_name, kind, change_id, channel)
);
create index notification_outbox_due_idx on ${s}.notification_outbox (next_attempt_at)
  where status in ('pending', 'sending');
create index notification_outbox_window_idx on ${s}.notification_outbox (task_name, channel, finished_at);
`,
  },
  {
    version: 7,
    name: "cancel requests",
    sql: (s: QuotedSchema) => `
-- orchestrator cancel <task>: one pending request per task, taken by the node running it.
create table ${s}.cancel_requests (
  task_name text primary key,
  requested_at bigint not null,
  actor text not null
);
`,
  },
  {
    version: 8,
    name: "runs started per task, for maxRuns across the cluster",
    // Raised by a claim of a task with a finite maxRuns, in the claim's statement, only while below it.
    sql: (s: QuotedSchema) => `
create table ${s}.run_counts (
  task_name text primary key,
  started integer not null
);
`,
  },
  {
    version: 9,
    name: "history by occurrence, for late settles; the attempt's node of a claim taken over",
    // settleSlots asks whether an occurrence at or before the task's release mark has a row.
    sql: (s: QuotedSchema) => `
create index runs_task_scheduled_idx on ${s}.runs (task_name, scheduled_at);
-- and which missed ranges cover an occurrence (few rows: consecutive misses are one row).
create index runs_missed_range_idx on ${s}.runs (task_name, missed_through)
  where missed_through is not null;
-- The node whose attempt a claim taken over by a reap stood for (null while its holder's
-- own attempt runs): a reaper that dies before recording it passes it on to the next.
alter table ${s}.claims add column attempt_node text;
`,
  },
  {
    version: 10,
    name: "nodes: membership with heartbeats, for sharing the work",
    // One row per node id: written at every heartbeat (database clock), deleted when the node stops.
    sql: (s: QuotedSchema) => `
create table ${s}.nodes (
  node_id text primary key,
  started_at timestamptz not null,
  heartbeat_at timestamptz not null,
  lease_ms integer not null check (lease_ms > 0),
  locked boolean not null,
  generation bigint not null
);
`,
  },
  {
    version: HISTORY_PARTITIONS_VERSION,
    name: "history partitioned by scheduled time, moved online; per-task summaries",
    sql: () => "",
    apply: moveHistory,
    prepare: prepareHistoryMove,
    undo: undoHistoryMove,
  },
  {
    version: 12,
    name: "room for in-place (HOT) updates of the rows rewritten at every run",
    // No query reads tasks_next_run_at_idx, and it made every run's progress update of its
    // task a non-HOT update: 5,000 tasks due every second grew to 102 MB in a minute, and the
    // batched finish slowed down until the cluster fell behind (docs/scaling.md).
    sql: (s: QuotedSchema) => `
drop index ${s}.tasks_next_run_at_idx;
alter table ${s}.tasks set (fillfactor = 50);
alter table ${s}.task_summaries set (fillfactor = 50);
alter table ${s}.claim_marks set (fillfactor = 50);
`,
  },
]);

/** The newest version this code knows. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** What {@link migrate} did. */
export interface MigrationResult {
  /** Versions this call applied (empty when another node had migrated already). */
  readonly applied: readonly number[];
  /** The version after the call. */
  readonly version: number;
}

/**
 * Brings the schema `schema` (raw name, `quoted` its validated quoted form) to
 * {@link LATEST_VERSION}. Refuses a schema newer than this code, so an old node
 * never writes to a layout it does not know. The online steps of the pending
 * migrations (`prepare`) run first, outside the transaction, under a session
 * lock on the same key: other nodes keep writing meanwhile, and nodes that open
 * the store wait for the migration.
 */
export async function migrate(
  client: PoolClient,
  schema: string,
  quoted: QuotedSchema,
  appliedBy: string,
  options: MigrateOptions = {},
): Promise<MigrationResult> {
  const key = `orchestrator.migrate.${schema}`;
  const context: HistoryMoveContext = { client, s: quoted };
  const through = options.through ?? LATEST_VERSION;
  await client.query("select pg_advisory_lock(hashtextextended($1, 0))", [key]);
  const prepared: Migration[] = [];
  try {
    const from = await storedVersion(client, quoted);
    for (const migration of MIGRATIONS) {
      if (migration.version <= from || migration.version > through) continue;
      if (migration.prepare === undefined) continue;
      prepared.push(migration);
      await migration.prepare(context);
    }
    return await migrateInTransaction(client, schema, context, appliedBy, through);
  } catch (error) {
    for (const migration of prepared) await migration.undo?.(context).catch(() => undefined);
    throw error;
  } finally {
    await client
      .query("select pg_advisory_unlock(hashtextextended($1, 0))", [key])
      .catch(() => undefined);
  }
}

/** The schema's version as stored (0 before the first migration). */
async function storedVersion(client: PoolClient, quoted: QuotedSchema): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>(
    "select to_regclass($1) is not null as exists",
    [`${quoted}.migrations`],
  );
  if (rows[0]?.exists !== true) return 0;
  const current = await client.query<{ version: number }>(
    `select coalesce(max(version), 0)::int as version from ${quoted}.migrations`,
  );
  return current.rows[0]?.version ?? 0;
}

async function migrateInTransaction(
  client: PoolClient,
  schema: string,
  context: HistoryMoveContext,
  appliedBy: string,
  through: number,
): Promise<MigrationResult> {
  const quoted = context.s;
  await client.query("begin");
  try {
    await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `orchestrator.migrate.${schema}`,
    ]);
    await client.query(`create schema if not exists ${quoted}`);
    await client.query(`create table if not exists ${quoted}.migrations (
  version integer primary key,
  name text not null,
  applied_at timestamptz not null default clock_timestamp(),
  applied_by text not null
)`);
    const current = await client.query<{ version: number }>(
      `select coalesce(max(version), 0)::int as version from ${quoted}.migrations`,
    );
    const from = current.rows[0]?.version ?? 0;
    if (from > LATEST_VERSION) {
      throw new StoreError(
        `schema ${schema} is at version ${from}, newer than this orchestrator (${LATEST_VERSION}); upgrade orchestrator`,
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= from || migration.version > through) continue;
      await client.query(migration.sql(quoted));
      await migration.apply?.(context);
      await client.query(
        `insert into ${quoted}.migrations (version, name, applied_by) values ($1, $2, $3)`,
        [migration.version, migration.name, appliedBy],
      );
      applied.push(migration.version);
    }
    await client.query("commit");
    return { applied, version: Math.max(from, ...applied) };
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}
